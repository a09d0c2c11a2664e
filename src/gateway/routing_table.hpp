#pragma once
// Which piece servers hold which figures, and which of them may be sent requests. Pure:
// it is fed datagrams, request outcomes and the time, and holds no lock and no socket.
#include <atomic>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/clock.hpp"
#include "core/endpoint.hpp"
#include "core/random.hpp"
#include "membership/datagram.hpp"
#include "partition/handoff.hpp"
#include "partition/placement.hpp"

namespace isla::gateway {

// A piece server as requests see it; shared with in-flight requests, so it outlives its
// entry in the table.
struct Backend {
  Backend(std::string address_, core::Endpoint endpoint_)
      : address(std::move(address_)), endpoint(std::move(endpoint_)) {}
  const std::string address;
  const core::Endpoint endpoint;
  std::atomic<int> outstanding{0};           // requests this gateway has in flight to it
  std::atomic<std::uint64_t> answered{0};    // requests it answered through this gateway
  std::atomic<int> consecutive_failures{0};  // reset by any success
};

enum class ServerState { alive, draining, ejected };
const char* to_string(ServerState state);

enum class FailureKind {
  connect,  // refused or unreachable: strong evidence, ejects at once
  other,    // timeout, broken connection, 5xx, garbage: ejects after a few in a row
};

struct RoutingOptions {
  // A server not heard from for this long is removed (its heartbeat is every 200 ms).
  std::chrono::milliseconds heartbeat_timeout{700};
  // An ejected server gets no requests for this long, unless it restarts (new incarnation).
  std::chrono::milliseconds ejection_time{5000};
  int failures_to_eject = 3;
  std::size_t departed_history = 32;
  // A figure no server has announced for this long is forgotten (404 instead of 503), so
  // that names announced once, by mistake or by a flood, do not stay listed for ever.
  std::chrono::milliseconds figure_ttl{30'000};
  // A partitioned catalogue (issue 14): these figures are spread over the piece servers that
  // are not draining, each on `placement.replicas` of them (consistent hashing), and every
  // welcome tells a server what to hold. Empty: each server serves what it was started with.
  std::vector<std::string> catalogue{};
  partition::PlacementOptions placement{};
};

// What an announcement did to the table.
enum class Announced {
  rejected,   // overtaken by the sender's bye, or from before its restart
  unchanged,  // accepted; nothing requests may be routed to changed
  changed,    // accepted; the routing snapshot must be rebuilt
};

struct ServerView {
  std::string address;
  ServerState state;
  std::vector<std::string> figures;
  int outstanding;
  std::uint64_t answered;
  membership::Load load;
  long long last_seen_ms;
  std::uint64_t incarnation;
};

struct DepartedView {
  std::string address;
  std::string reason;  // bye | timeout
  std::vector<std::string> figures;
  long long since_ms;
};

// An immutable picture of where each figure can be routed; readers share it lock-free.
struct RoutingSnapshot {
  std::unordered_map<std::string, std::vector<std::shared_ptr<Backend>>> routable;
  std::set<std::string> known_figures;  // announced within figure_ttl, live or not
  // Partitioned catalogue only: each figure's owners (primary first), held or not yet.
  partition::Owners owners;

  bool known(const std::string& figure) const { return known_figures.count(figure) > 0; }
  // The routable replica of `figure` with the fewest outstanding requests, skipping
  // `tried`; ties are broken at random so equal replicas share the load. Owners come first:
  // a server that holds the figure only until its new owners have it is the fallback.
  std::shared_ptr<Backend> pick(const std::string& figure, const std::vector<const Backend*>& tried,
                                core::Random& random) const;

 private:
  std::shared_ptr<Backend> pick_among(const std::string& figure,
                                      const std::vector<const Backend*>& tried,
                                      core::Random& random, bool owners_only) const;
};

class RoutingTable {
 public:
  explicit RoutingTable(RoutingOptions options) : options_(options) {}

  // Each other returns true when what requests may be routed to has changed.
  Announced on_announce(const membership::Datagram& datagram, core::SteadyTime now);
  bool on_bye(const membership::Datagram& datagram, core::SteadyTime now);
  bool on_failure(const std::string& address, FailureKind kind, core::SteadyTime now);
  bool expire(core::SteadyTime now);

  std::shared_ptr<const RoutingSnapshot> snapshot() const;
  std::vector<ServerView> servers(core::SteadyTime now) const;
  std::vector<DepartedView> departed(core::SteadyTime now) const;
  std::size_t routable_count() const;

  bool partitioned() const { return !options_.catalogue.empty(); }
  // Partitioned catalogue: what the server at `address` is to hold (partition::figures_to_hold
  // over this table's view); nullopt when the catalogue is not partitioned.
  std::optional<std::vector<std::string>> assignment(const std::string& address) const;

 private:
  struct Entry {
    std::shared_ptr<Backend> backend;
    std::vector<std::string> figures;
    std::uint64_t incarnation = 0;
    core::SteadyTime last_seen;
    bool draining = false;
    bool ejected = false;  // cleared by expire() once ejected_until has passed
    core::SteadyTime ejected_until{};
    membership::Load load;
  };
  struct Departure {
    std::string address;
    std::string reason;
    std::vector<std::string> figures;
    std::uint64_t incarnation;
    std::uint64_t seq;  // of the bye; 0 for a timeout
    core::SteadyTime when;
  };

  void depart(std::map<std::string, Entry>::iterator entry, std::string reason, std::uint64_t seq,
              core::SteadyTime now);
  bool overtaken_by_bye(const membership::Datagram& datagram, core::SteadyTime now) const;
  bool forget_figures(core::SteadyTime now);
  static ServerState state_of(const Entry& entry);
  // Each catalogue figure's owners under the placement over the servers that are not
  // draining; recomputed only when those servers change.
  const partition::Owners& owners() const;

  RoutingOptions options_;
  std::map<std::string, Entry> entries_;
  std::map<std::string, core::SteadyTime> known_figures_;  // figure -> last announced
  std::deque<Departure> departed_;
  // Caches of owners(); the table is used under the registry's lock only.
  mutable std::optional<partition::Placement> placement_;
  mutable partition::Owners owners_;
};

}  // namespace isla::gateway
