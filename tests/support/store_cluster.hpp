#pragma once
// Real gateways forming an island store (--store-voters), for tests that kill, corrupt and
// restart them. Each node has its own address on a subnet no other test uses, its own data
// directory and log.
#include <boost/json.hpp>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "core/child_process.hpp"
#include "core/endpoint.hpp"
#include "net/http_client.hpp"

namespace isla::testing {

class StoreCluster {
 public:
  // Nodes [0, voters) vote; the `learners` after them join as learners. Every node starts
  // with `extra_flags` appended to its command line.
  explicit StoreCluster(int voters, int learners = 0, std::vector<std::string> extra_flags = {});
  ~StoreCluster();

  int size() const { return static_cast<int>(addresses_.size()); }
  const core::Endpoint& address(int node) const { return addresses_.at(node); }
  std::filesystem::path data_dir(int node) const;
  std::string log(int node) const;

  // Flags only `node` gets, after the cluster's; and the island every node names.
  void set_node_flags(int node, std::vector<std::string> flags) {
    node_flags_.at(node) = std::move(flags);
  }
  void set_island(std::string island) { island_ = std::move(island); }
  // Signs everything with a fresh island secret (secret_file()); off unless asked, as the
  // store's own tests were written without one.
  void use_secret();
  std::filesystem::path secret_file() const { return dir_ / "secret"; }
  // The node's whole /api/status, or null when it does not answer.
  boost::json::value status(int node) const;

  void start(int node);
  void start_all();
  void kill(int node);  // SIGKILL: a crash, nothing flushed
  // SIGINT (a graceful stop), then the exit code once the process has exited.
  std::optional<int> interrupt(int node, std::chrono::milliseconds timeout);
  bool running(int node) const { return processes_.at(node).has_value(); }

  // The node every running node agrees is leader, once there is one (nullopt at timeout).
  std::optional<int> wait_for_leader(std::chrono::milliseconds timeout);
  // The store part of a node's /api/status, or null when it does not answer.
  boost::json::value store_status(int node) const;
  // Waits until every running node has applied the same index as the leader's commit.
  bool wait_converged(std::chrono::milliseconds timeout);

  // Requests made by the cluster's helpers (request, store_status, wait_for_leader) use
  // these: TLS to a cluster started with --tls-dir.
  void set_client_options(net::HttpClientOptions options) { client_ = std::move(options); }

  net::ClientResult request(int node, const std::string& method, const std::string& target,
                            const std::string& body = {},
                            std::chrono::milliseconds timeout = std::chrono::seconds(3)) const;

 private:
  std::filesystem::path dir_;
  std::vector<core::Endpoint> addresses_;
  int voters_ = 0;
  std::vector<std::string> extra_flags_;
  std::vector<std::vector<std::string>> node_flags_;
  std::string island_ = "store-test";
  std::vector<std::optional<core::ChildProcess>> processes_;
  net::HttpClientOptions client_;
};

}  // namespace isla::testing
