#include "balancer/pair/store_address_lease.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <charconv>

namespace isla::balancer::pair {

struct StoreAddressLease::State {
  store::Store& store;
  StoreLeaseOptions options;
  store::LeaseId lease = 0;  // the store lease the key rides on; 0: none yet
  std::string value;         // what this node last wrote, empty when it holds nothing
};

const char* to_string(LeaseVerdict verdict) {
  switch (verdict) {
    case LeaseVerdict::held:
      return "held";
    case LeaseVerdict::lost:
      return "lost";
    case LeaseVerdict::unavailable:
      return "unavailable";
  }
  return "unknown";
}

std::string lease_value(election::Term term, const std::string& holder) {
  return fmt::format("{:016x} {}", term, holder);
}

std::optional<election::Term> term_of_lease_value(std::string_view value) {
  if (value.size() < 17 || value[16] != ' ') return std::nullopt;
  election::Term term = 0;
  auto [end, error] = std::from_chars(value.data(), value.data() + 16, term, 16);
  if (error != std::errc() || end != value.data() + 16) return std::nullopt;
  return term;
}

std::string_view holder_of_lease_value(std::string_view value) {
  return value.size() < 17 ? std::string_view() : value.substr(17);
}

StoreAddressLease::StoreAddressLease(asio::any_io_executor executor, store::Store& store,
                                     StoreLeaseOptions options)
    : executor_(std::move(executor)),
      options_(options),
      state_(std::make_shared<State>(State{store, std::move(options), 0, {}})) {}

void StoreAddressLease::hold(election::Term term, std::function<void(LeaseVerdict)> done) {
  asio::co_spawn(executor_, take(state_, term),
                 [done = std::move(done)](std::exception_ptr error, LeaseVerdict verdict) {
                   done(error ? LeaseVerdict::unavailable : verdict);
                 });
}

void StoreAddressLease::release() {
  asio::co_spawn(executor_, give_up(state_), asio::detached);
}

// The key as a quorum sees it: a store that has lost its quorum answers nothing here.
asio::awaitable<store::StoreResult<store::RangeResult>> StoreAddressLease::read_key(
    std::shared_ptr<State> state, store::Deadline deadline) {
  const bool prefix = false;
  auto read = co_await state->store.range(state->options.key, prefix,
                                          store::Consistency::linearizable, deadline);
  co_return read;
}

void StoreAddressLease::probe(std::function<void(bool reachable)> done) {
  asio::co_spawn(executor_, reach(state_),
                 [done = std::move(done)](std::exception_ptr error, bool reachable) {
                   done(!error && reachable);
                 });
}

asio::awaitable<bool> StoreAddressLease::reach(std::shared_ptr<State> state) {
  const auto deadline = std::chrono::steady_clock::now() + state->options.request_timeout;
  auto read = co_await read_key(state, deadline);
  co_return read.ok();
}

asio::awaitable<LeaseVerdict> StoreAddressLease::take(std::shared_ptr<State> state,
                                                      election::Term term) {
  auto& store = state->store;
  const auto& key = state->options.key;
  const auto deadline = std::chrono::steady_clock::now() + state->options.request_timeout;

  // The store lease first: renew the one we have, or get a new one when it lapsed.
  if (state->lease != 0) {
    const auto id = state->lease;
    auto renewed = co_await store.keep_alive(id, deadline);
    if (!renewed.ok()) {
      if (renewed.error.code != store::StoreErrorCode::rejected)
        co_return LeaseVerdict::unavailable;
      state->lease = 0;  // expired in the store: the key went with it
    }
  }
  if (state->lease == 0) {
    const std::int64_t ttl_ms = state->options.ttl.count();
    auto granted = co_await store.grant_lease(ttl_ms, deadline);
    if (!granted.ok()) co_return LeaseVerdict::unavailable;
    state->lease = granted.value->id;
  }

  const auto mine = lease_value(term, state->options.holder);
  for (int attempt = 0; attempt < 3; ++attempt) {
    auto read = co_await read_key(state, deadline);
    if (!read.ok()) co_return LeaseVerdict::unavailable;
    store::Txn txn;
    if (read.value->kvs.empty()) {
      txn.compares.push_back(
          {key, store::Compare::Target::create_revision, store::Compare::Result::equal, {}, 0});
    } else {
      const auto& current = read.value->kvs.front();
      const auto stored = term_of_lease_value(current.value);
      // Another holder's key lives as long as its store lease: it is alive and serving (we
      // merely cannot hear it), or its lease lapses and the key goes with it.
      if (!stored || holder_of_lease_value(current.value) != state->options.holder ||
          *stored > term) {
        co_return LeaseVerdict::lost;
      }
      if (current.value == mine && current.lease == state->lease) {
        state->value = mine;
        co_return LeaseVerdict::held;
      }
      // Ours from an earlier term or an earlier store lease (a restart): take it over.
      txn.compares.push_back({key,
                              store::Compare::Target::mod_revision,
                              store::Compare::Result::equal,
                              {},
                              current.mod_revision});
    }
    txn.success.push_back({store::RequestOp::Kind::put, key, mine, state->lease});
    auto written = co_await store.txn(txn, deadline);
    if (!written.ok()) co_return LeaseVerdict::unavailable;
    if (written.value->succeeded && written.value->error.empty()) {
      state->value = mine;
      co_return LeaseVerdict::held;
    }
    // Someone wrote between our read and our write: read again and judge again.
  }
  co_return LeaseVerdict::unavailable;
}

asio::awaitable<void> StoreAddressLease::give_up(std::shared_ptr<State> state) {
  if (state->value.empty()) co_return;
  const auto deadline = std::chrono::steady_clock::now() + state->options.request_timeout;
  store::Txn txn;
  txn.compares.push_back({state->options.key, store::Compare::Target::value,
                          store::Compare::Result::equal, state->value, 0});
  txn.success.push_back({store::RequestOp::Kind::del, state->options.key, {}, 0});
  state->value.clear();
  auto deleted = co_await state->store.txn(txn, deadline);
  if (!deleted.ok()) {
    spdlog::info("event=pair_lease_release_failed key={} error=\"{}\"", state->options.key,
                 deleted.error.message);
  }
}

}  // namespace isla::balancer::pair
