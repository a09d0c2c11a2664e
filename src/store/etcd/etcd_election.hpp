#pragma once
// Which gateway leads, when the store is etcd: a leader election on an etcd lease and key,
// as etcd's own concurrency.Election does. Each gateway holds a lease it keeps alive; the
// one whose transaction "create the key if it does not exist" succeeded (the key holding its
// address, bound to its lease) leads until its lease ends. When that gateway dies, or loses
// etcd, its lease expires, etcd deletes the key, and the next gateway to look creates it.
//
// A gateway stops believing it leads once a TTL has passed since it sent the last keep-alive
// etcd acknowledged: etcd counts the lease from when it received that keep-alive, which was
// later, so the lease cannot have outlived the belief. Between gateways whose clocks run at
// the same rate, then, two never lead at once; and the task queue writes every change with
// a compare-and-swap, so that even then a result is recorded once.
#include <atomic>
#include <chrono>
#include <mutex>
#include <string>

#include "net/asio.hpp"
#include "store/leadership.hpp"
#include "store/store.hpp"

namespace isla::store::etcd {

struct EtcdElectionOptions {
  std::string key = "_isla/leader";     // under the system prefix: only nodes and admins write it
  std::string self;                     // this gateway's address, the key's value when it leads
  std::chrono::milliseconds ttl{3000};  // how long a dead leader leads on
};

class EtcdElection final : public StoreLeadership {
 public:
  EtcdElection(Store& store, EtcdElectionOptions options);

  // Campaigns and keeps the lease alive on `executor` until stop().
  void start(asio::any_io_executor executor);
  void stop();
  // Gives leadership up at once (revokes the lease), for a gateway that leaves.
  asio::awaitable<void> resign(Deadline deadline);

  bool leading() const override;
  std::string leader_address() const override;

 private:
  asio::awaitable<void> run();
  // One round: keep the lease alive (or get a new one), then campaign or read who leads.
  asio::awaitable<void> round();

  Store& store_;
  EtcdElectionOptions options_;
  std::atomic<bool> stopped_{false};
  mutable std::mutex mutex_;  // everything below
  LeaseId lease_ = 0;
  std::chrono::steady_clock::time_point lease_valid_until_{};  // as far as this side knows
  bool won_ = false;                                           // our key holds the election
  std::string leader_;
};

}  // namespace isla::store::etcd
