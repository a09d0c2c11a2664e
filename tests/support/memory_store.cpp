#include "support/memory_store.hpp"

namespace isla::testing {

using namespace store;

void MemoryStore::set_faults(MemoryStoreFaults faults) {
  std::lock_guard lock(mutex_);
  faults_ = faults;
}

void MemoryStore::set_leader(bool leader, std::string leader_address) {
  std::lock_guard lock(mutex_);
  leader_ = leader;
  leader_address_ = std::move(leader_address);
}

std::vector<KeyValue> MemoryStore::dump(const std::string& prefix) const {
  std::lock_guard lock(mutex_);
  return kv_.range(prefix);
}

bool MemoryStore::roll(double probability) {
  if (probability <= 0) return false;
  return static_cast<double>(random_.below(1'000'000)) < probability * 1'000'000;
}

asio::awaitable<void> MemoryStore::delay() {
  std::chrono::milliseconds how_long;
  {
    std::lock_guard lock(mutex_);
    how_long = faults_.delay;
  }
  if (how_long.count() == 0) co_return;
  asio::steady_timer timer(co_await asio::this_coro::executor, how_long);
  co_await timer.async_wait(net::use_nothrow);
}

asio::awaitable<StoreResult<TxnResult>> MemoryStore::txn(const Txn& txn, Deadline) {
  co_await delay();
  std::lock_guard lock(mutex_);
  if (!leader_) {
    co_return StoreResult<TxnResult>{
        std::nullopt, {StoreErrorCode::not_leader, "not the leader", leader_address_}};
  }
  if (roll(faults_.refuse_write)) {
    co_return StoreResult<TxnResult>{std::nullopt,
                                     {StoreErrorCode::unavailable, "injected: refused", {}}};
  }
  auto result = kv_.apply(txn);
  ++writes_applied_;
  for (auto& watcher : watchers_) {
    auto copy = watcher;
    net::Completion<bool>::complete(std::move(copy), true);
  }
  watchers_.clear();
  if (roll(faults_.lose_write_answer)) {
    co_return StoreResult<TxnResult>{
        std::nullopt, {StoreErrorCode::unknown_outcome, "injected: answer lost", {}}};
  }
  co_return StoreResult<TxnResult>{std::move(result), {}};
}

asio::awaitable<StoreResult<RangeResult>> MemoryStore::range(const std::string& key, bool prefix,
                                                             Consistency, Deadline) {
  co_await delay();
  std::lock_guard lock(mutex_);
  if (roll(faults_.refuse_read)) {
    co_return StoreResult<RangeResult>{std::nullopt,
                                       {StoreErrorCode::unavailable, "injected: refused", {}}};
  }
  RangeResult result;
  result.revision = kv_.revision();
  if (prefix) {
    result.kvs = kv_.range(key);
  } else if (auto kv = kv_.get(key)) {
    result.kvs.push_back(std::move(*kv));
  }
  co_return StoreResult<RangeResult>{std::move(result), {}};
}

asio::awaitable<StoreResult<WatchResult>> MemoryStore::watch(const std::string& prefix,
                                                             Revision from, Deadline until) {
  for (;;) {
    std::shared_ptr<net::Completion<bool>> waiter;
    {
      std::lock_guard lock(mutex_);
      auto result = kv_.events_since(from, prefix, 1000);
      if (result.compacted || !result.events.empty() || std::chrono::steady_clock::now() >= until) {
        co_return StoreResult<WatchResult>{std::move(result), {}};
      }
      from = result.next;
      waiter = net::Completion<bool>::on(co_await asio::this_coro::executor);
      watchers_.push_back(waiter);
    }
    co_await waiter->wait(until);
  }
}

// Leases never expire on their own here (no clock): revoke_lease ends one, with its keys.
asio::awaitable<StoreResult<Lease>> MemoryStore::grant_lease(std::int64_t ttl_ms, Deadline) {
  co_await delay();
  std::lock_guard lock(mutex_);
  if (!leader_) {
    co_return StoreResult<Lease>{std::nullopt,
                                 {StoreErrorCode::not_leader, "not the leader", leader_address_}};
  }
  const LeaseId id = ++last_lease_;
  kv_.grant_lease(id, ttl_ms, 0);
  co_return StoreResult<Lease>{Lease{id, ttl_ms}, {}};
}

asio::awaitable<StoreResult<Lease>> MemoryStore::keep_alive(LeaseId id, Deadline) {
  co_await delay();
  std::lock_guard lock(mutex_);
  if (!leader_) {
    co_return StoreResult<Lease>{std::nullopt,
                                 {StoreErrorCode::not_leader, "not the leader", leader_address_}};
  }
  auto result = kv_.keep_alive(id, 0);
  if (!result.error.empty()) {
    co_return StoreResult<Lease>{std::nullopt, {StoreErrorCode::rejected, result.error, {}}};
  }
  co_return StoreResult<Lease>{Lease{id, 0}, {}};
}

asio::awaitable<StoreResult<TxnResult>> MemoryStore::revoke_lease(LeaseId id, Deadline) {
  co_await delay();
  std::lock_guard lock(mutex_);
  auto result = kv_.revoke_lease(id);
  if (!result.error.empty()) {
    co_return StoreResult<TxnResult>{std::nullopt, {StoreErrorCode::rejected, result.error, {}}};
  }
  co_return StoreResult<TxnResult>{std::move(result), {}};
}

}  // namespace isla::testing
