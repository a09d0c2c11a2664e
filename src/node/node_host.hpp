#pragma once
// What every isla server process is made of: an I/O pool, an HTTP server with a router,
// a UDP endpoint on the same address, request metrics, /metrics and /healthz, and the
// signal handling that turns Ctrl+C into a graceful stop.
#include <prometheus/registry.h>

#include <atomic>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/endpoint.hpp"
#include "net/http_server.hpp"
#include "net/io_pool.hpp"
#include "net/lifecycle.hpp"
#include "net/router.hpp"
#include "net/udp_endpoint.hpp"
#include "observability/audit_log.hpp"
#include "observability/metrics.hpp"
#include "observability/node_status.hpp"
#include "security/forwarded_auth.hpp"
#include "security/guard.hpp"

namespace isla::node {

struct NodeOptions {
  core::Endpoint listen;
  std::string role;
  std::string island;
  std::size_t threads = 0;  // 0 = one per core
  net::HttpServerOptions http;
  // The island secret (raw bytes). Empty: nothing is signed or checked, every route is open
  // (allowed on loopback only; see docs/operations.md#security).
  std::string secret;
  std::filesystem::path audit_log;  // empty: no audit log
};

class NodeHost {
 public:
  // Binds TCP and UDP at once; throws std::runtime_error naming the address on failure.
  explicit NodeHost(NodeOptions options);

  net::IoPool& pool() { return pool_; }
  net::Router& router() { return router_; }
  net::UdpEndpoint& udp() { return *udp_; }
  net::HttpServer& server() { return *server_; }
  prometheus::Registry& metrics() { return *registry_; }
  // Runs before each /metrics answer is rendered, for series read from elsewhere at scrape
  // time (the store's Raft counters). Register before run().
  void before_scrape(std::function<void()> hook) { scrape_hooks_.push_back(std::move(hook)); }
  const NodeOptions& options() const { return options_; }
  // Tokens revoked island-wide, as far as this node knows (the gateway keeps it filled).
  security::RevocationList& revoked() { return *revoked_; }
  observability::AuditSink& audit() { return *audit_; }
  std::string address() const { return options_.listen.str(); }

  void set_island(std::string island);
  observability::NodeIdentity identity() const;
  observability::RequestTotals totals() const;
  // Stops accepting and waits for in-flight requests (bounded by the drain timeout).
  asio::awaitable<bool> drain();

  // Serves until a signal's graceful stop has finished; `graceful` runs on the main context
  // and the pool stops when it returns. Returns the process exit code.
  int run(net::GracefulStop graceful);

 private:
  void guard_routes();

  NodeOptions options_;
  net::IoPool pool_;
  std::shared_ptr<prometheus::Registry> registry_;
  observability::HttpMetrics http_metrics_;
  std::vector<std::function<void()>> scrape_hooks_;
  std::unique_ptr<observability::AuditSink> audit_;
  std::shared_ptr<security::RevocationList> revoked_ = std::make_shared<security::RevocationList>();
  std::unique_ptr<security::ForwardedVerifier> forwarded_;  // with a secret only
  net::Router router_;
  std::unique_ptr<net::HttpServer> server_;
  std::unique_ptr<net::UdpEndpoint> udp_;
  std::atomic<std::uint64_t> total_{0};
  std::atomic<std::uint64_t> failed_{0};
  std::atomic<bool> draining_{false};
  mutable std::mutex island_mutex_;
  std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
};

}  // namespace isla::node
