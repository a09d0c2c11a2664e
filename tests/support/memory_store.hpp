#pragma once
// A store::Store in memory, for tests of what is built on the store (the task queue), that
// fails the way the replicated store does: a write refused before it was applied
// (unavailable), a write applied whose answer is lost (unknown_outcome), a replica that is
// not the leader, and answers that come late. One KvStateMachine behind a mutex; watches
// wake when a write lands.
#include <atomic>
#include <mutex>
#include <vector>

#include "core/random.hpp"
#include "net/completion.hpp"
#include "store/store.hpp"

namespace isla::testing {

struct MemoryStoreFaults {
  double refuse_write = 0;             // answered unavailable, not applied
  double lose_write_answer = 0;        // applied, answered unknown_outcome
  double refuse_read = 0;              // answered unavailable
  std::chrono::milliseconds delay{0};  // before every answer
};

class MemoryStore final : public store::Store {
 public:
  explicit MemoryStore(std::uint64_t seed = 1) : random_(seed) {}

  void set_faults(MemoryStoreFaults faults);
  void set_leader(bool leader, std::string leader_address = {});
  std::int64_t writes_applied() const { return writes_applied_; }
  // The state machine as it is (for assertions), under the store's lock.
  std::vector<store::KeyValue> dump(const std::string& prefix) const;

  asio::awaitable<store::StoreResult<store::TxnResult>> txn(const store::Txn& txn,
                                                            store::Deadline deadline) override;
  asio::awaitable<store::StoreResult<store::RangeResult>> range(const std::string& key, bool prefix,
                                                                store::Consistency consistency,
                                                                store::Deadline deadline) override;
  asio::awaitable<store::StoreResult<store::WatchResult>> watch(const std::string& prefix,
                                                                store::Revision from,
                                                                store::Deadline until) override;
  asio::awaitable<store::StoreResult<store::Lease>> grant_lease(std::int64_t ttl_ms,
                                                                store::Deadline deadline) override;
  asio::awaitable<store::StoreResult<store::Lease>> keep_alive(store::LeaseId id,
                                                               store::Deadline deadline) override;
  asio::awaitable<store::StoreResult<store::TxnResult>> revoke_lease(
      store::LeaseId id, store::Deadline deadline) override;

 private:
  bool roll(double probability);
  asio::awaitable<void> delay();

  mutable std::mutex mutex_;
  store::KvStateMachine kv_;
  core::SeededRandom random_;
  MemoryStoreFaults faults_;
  bool leader_ = true;
  std::string leader_address_;
  std::atomic<std::int64_t> writes_applied_{0};
  store::LeaseId last_lease_ = 0;
  std::vector<std::shared_ptr<net::Completion<bool>>> watchers_;
};

}  // namespace isla::testing
