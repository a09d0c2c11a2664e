#pragma once
// The gateway's thread-safe view of its piece servers: writers (datagrams, failed
// requests, the expiry timer) serialise on a mutex; request paths take the current
// immutable snapshot (a pointer copy under a lock of its own) and read it without locking.
#include <functional>
#include <mutex>

#include "core/shared_snapshot.hpp"
#include "gateway/routing_table.hpp"

namespace isla::gateway {

class Registry {
 public:
  // Told, under the registry's lock, of each new routing snapshot and the one it replaces.
  using Observer = std::function<void(const RoutingSnapshot& before, const RoutingSnapshot& after)>;

  Registry(core::Clock& clock, RoutingOptions options);
  // Set before any datagram arrives.
  void observe_with(Observer observer) { observer_ = std::move(observer); }

  std::shared_ptr<const RoutingSnapshot> snapshot() const { return snapshot_.load(); }

  // False when the table refused it (overtaken by a bye, or from before a restart).
  bool on_announce(const membership::Datagram& datagram);
  // False when it named no server of ours in its current incarnation.
  bool on_bye(const membership::Datagram& datagram);
  void on_failure(const Backend& backend, FailureKind kind);
  void on_success(Backend& backend);
  void expire();

  std::vector<ServerView> servers() const;
  std::vector<DepartedView> departed() const;
  std::size_t routable_count() const;
  // Partitioned catalogue: what the server at `address` is to hold (RoutingTable::assignment).
  std::optional<std::vector<std::string>> assignment(const std::string& address) const;
  // Addresses of every server in the table, for saying bye when the gateway leaves.
  std::vector<core::Endpoint> endpoints() const;

 private:
  template <class Change>
  void mutate(Change change);

  core::Clock& clock_;
  mutable std::mutex mutex_;
  RoutingTable table_;
  core::SharedSnapshot<const RoutingSnapshot> snapshot_;
  Observer observer_;
};

}  // namespace isla::gateway
