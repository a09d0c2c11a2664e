#pragma once
// The island store as the rest of isla sees it: a replicated, strongly consistent key-value
// map with etcd's model (revisions, compare-and-swap transactions, prefix ranges, watches,
// TTL leases). The embedded implementation is RaftStore; an etcd v3 one can sit behind
// the same interface.
#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "net/asio.hpp"
#include "store/kv_state_machine.hpp"

namespace isla::store {

using Deadline = std::chrono::steady_clock::time_point;

enum class Consistency {
  linearizable,  // sees every write acknowledged before the read began (default)
  serializable   // this replica's state: possibly stale, never waits for the leader
};

enum class StoreErrorCode {
  ok,
  not_leader,       // writes go to the leader: `leader_address` says where, if known
  unavailable,      // no leader, or no answer before the deadline; nothing was done
  unknown_outcome,  // the write may or may not have been applied (leader lost, deadline)
  rejected,         // the store refused the request as given (e.g. unknown lease)
  conflict,         // refused for now: another change is under way, or it would break the store
  not_found,        // what the request names does not exist (e.g. a member to remove)
};

struct StoreError {
  StoreErrorCode code = StoreErrorCode::ok;
  std::string message;
  std::string leader_address;
};

template <class T>
struct StoreResult {
  std::optional<T> value;
  StoreError error;
  bool ok() const { return value.has_value(); }
};

struct RangeResult {
  std::vector<KeyValue> kvs;
  Revision revision = 0;  // the store's revision the read saw
};

struct Lease {
  LeaseId id = 0;
  std::int64_t ttl_ms = 0;
};

class Store {
 public:
  virtual ~Store() = default;

  virtual asio::awaitable<StoreResult<TxnResult>> txn(const Txn& txn, Deadline deadline) = 0;
  // `key` exactly when `prefix` is false, every key starting with it otherwise.
  virtual asio::awaitable<StoreResult<RangeResult>> range(const std::string& key, bool prefix,
                                                          Consistency consistency,
                                                          Deadline deadline) = 0;
  // Waits until there are events for `prefix` at or after `from`, or until `until`. The
  // answer is one page of them (WatchResult::more); the next call starts at its `next`.
  virtual asio::awaitable<StoreResult<WatchResult>> watch(const std::string& prefix, Revision from,
                                                          Deadline until) = 0;

  virtual asio::awaitable<StoreResult<Lease>> grant_lease(std::int64_t ttl_ms,
                                                          Deadline deadline) = 0;
  virtual asio::awaitable<StoreResult<Lease>> keep_alive(LeaseId id, Deadline deadline) = 0;
  virtual asio::awaitable<StoreResult<TxnResult>> revoke_lease(LeaseId id, Deadline deadline) = 0;
};

// Arguments are references, not values: GCC 12 mishandles by-value parameters of a coroutine
// called inside a co_await expression when they are built from temporaries.

// Single-operation transactions, for callers that need nothing more.
Txn put_txn(std::string key, std::string value, LeaseId lease = 0);
Txn delete_txn(std::string key);

}  // namespace isla::store
