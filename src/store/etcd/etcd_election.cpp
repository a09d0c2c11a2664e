#include "store/etcd/etcd_election.hpp"

#include <spdlog/spdlog.h>

#include "store/txn_ops.hpp"

namespace isla::store::etcd {

using Clock = std::chrono::steady_clock;

EtcdElection::EtcdElection(Store& store, EtcdElectionOptions options)
    : store_(store), options_(std::move(options)) {}

void EtcdElection::start(asio::any_io_executor executor) {
  asio::co_spawn(executor, run(), asio::detached);
}

void EtcdElection::stop() {
  stopped_ = true;
}

bool EtcdElection::leading() const {
  std::lock_guard lock(mutex_);
  return won_ && Clock::now() < lease_valid_until_;
}

std::string EtcdElection::leader_address() const {
  std::lock_guard lock(mutex_);
  if (won_ && Clock::now() < lease_valid_until_) return options_.self;
  return leader_;
}

asio::awaitable<void> EtcdElection::resign(Deadline deadline) {
  LeaseId lease = 0;
  {
    std::lock_guard lock(mutex_);
    lease = lease_;
    lease_ = 0;
    won_ = false;
    leader_.clear();
  }
  stopped_ = true;
  if (lease != 0) co_await store_.revoke_lease(lease, deadline);
}

asio::awaitable<void> EtcdElection::run() {
  // Three looks per TTL: a lease survives two lost keep-alives, and a dead leader's
  // successor takes over within a TTL and a third.
  const auto period = options_.ttl / 3;
  while (!stopped_) {
    co_await round();
    co_await net::sleep_for(period);
  }
}

asio::awaitable<void> EtcdElection::round() {
  const auto sent = Clock::now();
  const auto deadline = sent + options_.ttl / 3;
  LeaseId lease = 0;
  {
    std::lock_guard lock(mutex_);
    lease = lease_;
  }
  if (lease != 0) {
    auto alive = co_await store_.keep_alive(lease, deadline);
    std::lock_guard lock(mutex_);
    if (alive.ok()) {
      lease_valid_until_ = sent + std::chrono::milliseconds(alive.value->ttl_ms);
    } else if (alive.error.code == StoreErrorCode::rejected) {
      // The lease expired (we were cut off longer than its TTL): our key went with it.
      if (won_) spdlog::warn("store leadership lost: the etcd lease expired");
      lease_ = 0;
      won_ = false;
    }
    lease = lease_;
  }
  if (lease == 0) {
    const auto ttl_ms = static_cast<std::int64_t>(options_.ttl.count());
    auto granted = co_await store_.grant_lease(ttl_ms, deadline);
    if (!granted.ok()) co_return;
    std::lock_guard lock(mutex_);
    lease_ = lease = granted.value->id;
    lease_valid_until_ = sent + std::chrono::milliseconds(granted.value->ttl_ms);
  }
  // Create the key unless someone holds it; either way, read who does.
  Txn campaign;
  campaign.compares.push_back(absent(options_.key));
  auto put = put_op(options_.key, options_.self);
  put.lease = lease;
  campaign.success.push_back(std::move(put));
  campaign.failure.push_back(get_op(options_.key));
  auto result = co_await store_.txn(campaign, deadline);
  if (!result.ok() || !result.value->error.empty()) co_return;
  std::lock_guard lock(mutex_);
  if (result.value->succeeded) {
    if (!won_) spdlog::info("store leadership won through etcd key={}", options_.key);
    won_ = true;
    leader_ = options_.self;
    co_return;
  }
  const auto& held = result.value->results.front().kvs;
  const bool ours = !held.empty() && held.front().lease == lease_;
  if (won_ && !ours) spdlog::warn("store leadership lost: the etcd key is another's");
  won_ = ours;
  leader_ = held.empty() ? std::string() : held.front().value;
}

}  // namespace isla::store::etcd
