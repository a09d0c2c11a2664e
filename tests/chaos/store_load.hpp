#pragma once
// Client load on a StoreCluster for chaos tests, and the verdicts on what it saw: clients
// send random gets, puts and compare-and-swaps on a few keys to random replicas, recording
// a history for the linearizability checker; each acknowledged put also leaves a key of its
// own, so that lost writes can be counted directly.
#include <atomic>
#include <boost/json.hpp>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "sim/linearizability.hpp"
#include "support/store_cluster.hpp"

namespace isla::testing {

// The JSON body of a response, or null when there is none.
boost::json::value body_of(const net::ClientResult& result);
// The keys under `prefix` on `node`'s own replica (a serializable read).
std::vector<std::string> keys_on(StoreCluster& cluster, int node, const std::string& prefix);
// Everything `node`'s own replica holds: each key's entry (value, revisions, lease) as JSON.
// Empty when the node does not answer.
std::map<std::string, std::string> contents_on(StoreCluster& cluster, int node);

class StoreClient {
 public:
  StoreClient(StoreCluster& cluster, int id, std::uint64_t seed)
      : cluster_(cluster), id_(id), random_(seed) {}

  void run(const std::atomic<bool>& stop, int max_ops) {
    for (int n = 0; n < max_ops && !stop; ++n) step(n);
  }

  // Read these only once the client's thread has ended.
  std::vector<sim::Operation> history;
  std::vector<std::string> acknowledged;  // keys of acknowledged puts
  // May be read while it runs.
  std::atomic<std::size_t> acknowledged_count{0};

 private:
  void step(int n);
  // A 503 from isla means nothing was proposed; anything else unanswered may have been.
  static bool definitely_failed(const net::ClientResult& answer);

  StoreCluster& cluster_;
  int id_;
  std::mt19937_64 random_;
  std::optional<std::string> last_seen_;
  std::chrono::milliseconds timeout_{3000};
};

// Clients on their own threads, from construction until stop() (or destruction).
class StoreLoad {
 public:
  StoreLoad(StoreCluster& cluster, int clients, std::uint64_t seed, int max_ops_each = 20'000);
  ~StoreLoad() { stop(); }

  std::size_t acknowledged() const;
  // Whether `more` puts were acknowledged within `timeout` from now.
  bool wait_for_writes(std::size_t more, std::chrono::milliseconds timeout) const;
  void stop();

  // Once stopped: every node has every acknowledged put (failures name the node and how
  // many it lost), and the clients' history is linearizable. Returns the acknowledged count.
  std::size_t expect_no_write_lost(StoreCluster& cluster) const;
  void expect_linearizable(std::chrono::milliseconds budget) const;

 private:
  std::atomic<bool> stop_{false};
  std::vector<std::unique_ptr<StoreClient>> clients_;
  std::vector<std::thread> threads_;
};

}  // namespace isla::testing
