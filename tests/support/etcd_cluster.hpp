#pragma once
// A real etcd cluster (Debian's etcd-server) for tests: members on loopback addresses no
// other test uses, data and logs in a temp dir removed afterwards, killed with the test.
#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "core/child_process.hpp"
#include "core/endpoint.hpp"
#include "store/etcd/etcd_launch.hpp"

namespace isla::testing {

class EtcdCluster {
 public:
  explicit EtcdCluster(int members = 3);
  ~EtcdCluster();  // kills the members; prints their logs if the test failed
  // Prints the logs at destruction whatever happens (for clusters a whole suite shares,
  // destroyed after its tests, when no test is failing any more).
  void print_logs_at_exit() { print_logs_ = true; }

  int size() const { return static_cast<int>(spec_.clients.size()); }
  const core::Endpoint& client(int member) const { return spec_.clients.at(member); }
  const std::vector<core::Endpoint>& clients() const { return spec_.clients; }
  // "etcd://HOST:PORT,..." for --store.
  std::string url() const { return store::etcd::store_url(spec_); }
  std::string log(int member) const;

  // Starts every member and waits (bounded) until each says it is healthy; fails the test
  // otherwise.
  void start_all();
  void start(int member);
  void kill(int member);  // SIGKILL: a crash
  bool running(int member) const { return processes_.at(member).has_value(); }
  // Whether every running member answers /health with "true" (it has a leader) in time.
  bool wait_healthy(std::chrono::milliseconds timeout) const;
  // The member that leads etcd's Raft group, as the running members agree (nullopt when they
  // do not within `timeout`).
  std::optional<int> wait_for_leader(std::chrono::milliseconds timeout) const;

 private:
  store::etcd::LocalEtcdCluster spec_;
  std::filesystem::path dir_;
  std::vector<std::optional<core::ChildProcess>> processes_;
  bool print_logs_ = false;
};

}  // namespace isla::testing
