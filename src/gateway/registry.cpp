#include "gateway/registry.hpp"

namespace isla::gateway {

Registry::Registry(core::Clock& clock, RoutingOptions options)
    : clock_(clock), table_(options), snapshot_(table_.snapshot()) {}

template <class Change>
void Registry::mutate(Change change) {
  std::lock_guard lock(mutex_);
  if (!change(table_, clock_.now())) return;
  auto next = table_.snapshot();
  if (observer_) observer_(*snapshot_.load(), *next);
  snapshot_.store(std::move(next));
}

bool Registry::on_announce(const membership::Datagram& datagram) {
  Announced result = Announced::rejected;
  mutate([&](RoutingTable& table, core::SteadyTime now) {
    result = table.on_announce(datagram, now);
    return result == Announced::changed;
  });
  return result != Announced::rejected;
}

bool Registry::on_bye(const membership::Datagram& datagram) {
  bool removed = false;
  mutate([&](RoutingTable& table, core::SteadyTime now) {
    removed = table.on_bye(datagram, now);
    return removed;
  });
  return removed;
}

void Registry::on_failure(const Backend& backend, FailureKind kind) {
  mutate([&](RoutingTable& table, core::SteadyTime now) {
    return table.on_failure(backend.address, kind, now);
  });
}

void Registry::on_success(Backend& backend) {
  backend.answered.fetch_add(1, std::memory_order_relaxed);
  // Only write when needed: the common path must not bounce the cache line between cores.
  if (backend.consecutive_failures.load(std::memory_order_relaxed) != 0) {
    backend.consecutive_failures.store(0, std::memory_order_relaxed);
  }
}

void Registry::expire() {
  mutate([](RoutingTable& table, core::SteadyTime now) { return table.expire(now); });
}

std::vector<ServerView> Registry::servers() const {
  std::lock_guard lock(mutex_);
  return table_.servers(clock_.now());
}

std::vector<DepartedView> Registry::departed() const {
  std::lock_guard lock(mutex_);
  return table_.departed(clock_.now());
}

std::size_t Registry::routable_count() const {
  std::lock_guard lock(mutex_);
  return table_.routable_count();
}

std::optional<std::vector<std::string>> Registry::assignment(const std::string& address) const {
  std::lock_guard lock(mutex_);
  return table_.assignment(address);
}

std::vector<core::Endpoint> Registry::endpoints() const {
  std::lock_guard lock(mutex_);
  std::vector<core::Endpoint> out;
  for (const auto& server : table_.servers(clock_.now())) {
    if (auto endpoint = core::parse_endpoint(server.address)) out.push_back(*endpoint);
  }
  return out;
}

}  // namespace isla::gateway
