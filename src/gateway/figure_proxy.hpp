#pragma once
// Answers GET /api/figures/{name} by asking a piece server that holds the figure, and
// another replica when that one fails or is too slow.
#include <prometheus/counter.h>

#include <boost/json.hpp>

#include <chrono>
#include <string>

#include "core/random.hpp"
#include "gateway/registry.hpp"
#include "net/asio.hpp"
#include "net/http_client.hpp"
#include "net/http_types.hpp"

namespace isla::gateway {

struct ProxyOptions {
  std::chrono::milliseconds attempt_timeout{2000};  // per replica tried
  int max_attempts = 3;                             // replicas tried per request
  // Requests in flight on one connection to a piece server (HTTP/1.1 pipelining; 1 turns
  // it off), and the connections per piece server and gateway thread before they share.
  std::size_t upstream_pipeline = 16;
  std::size_t upstream_connections = 2;
  // Signs the calls to piece servers with the island secret; null sends them unsigned.
  std::shared_ptr<const net::RequestSigner> signer;
  // HTTPS to piece servers, verified against the island CA (--tls-dir); null: plain HTTP.
  std::shared_ptr<net::TlsContext> tls;
};

struct ProxyMetrics {
  prometheus::Counter& retries;  // attempts after the first
  prometheus::Counter& failed;   // requests answered with 5xx
  // Requests sent to piece servers on a connection of their own, and queued behind others
  // on a busy one (pipelined).
  prometheus::Counter& sent_alone;
  prometheus::Counter& sent_pipelined;
};

class FigureProxy {
 public:
  FigureProxy(Registry& registry, core::Random& random, ProxyOptions options, std::string island,
              ProxyMetrics metrics);

  asio::awaitable<net::HttpResponse> figure(const std::string& name,
                                            const net::HttpRequest& request);
  // For GET /api/figures: every figure this island's piece servers announced, with its live
  // replicas and the island.
  boost::json::array figures() const;

 private:
  Registry& registry_;
  net::HttpClient client_;  // its own: pipelined, unlike the gateway's other calls
  core::Random& random_;
  ProxyOptions options_;
  std::string island_;
  ProxyMetrics metrics_;
};

}  // namespace isla::gateway
