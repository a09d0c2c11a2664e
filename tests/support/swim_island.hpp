#pragma once
// A deterministic island of SWIM failure detectors in one thread: simulated time, and a
// network that loses, duplicates, delays (so reorders), cuts links one way or partitions,
// with nodes that crash, restart and leave. Datagrams go through the real wire format (signed
// encode, decode) so that what does not fit in 1200 bytes is lost as it would be. Everything
// follows from one seed, so a failing run replays exactly.
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <queue>
#include <set>
#include <string>
#include <vector>

#include "core/clock.hpp"
#include "core/random.hpp"
#include "membership/swim.hpp"

namespace isla::testing {

struct SwimNetworkFaults {
  double loss = 0.0;       // probability a datagram is lost
  double duplicate = 0.0;  // probability a datagram is delivered twice
  std::chrono::microseconds min_delay{0};
  std::chrono::microseconds max_delay{20'000};  // each datagram: uniform in [min, max]
};

// A member's state change as one node saw it.
struct ObservedEvent {
  std::size_t observer;
  membership::MemberEvent event;
  bool subject_was_up;  // false when the subject had crashed or left: not a false alarm
};

class SwimIsland {
 public:
  struct Options {
    std::size_t nodes = 5;
    std::uint64_t seed = 1;
    membership::SwimOptions swim;
    SwimNetworkFaults faults;
    std::chrono::milliseconds tick{10};  // how often each node's tick() runs
    std::string secret = "island secret";
  };

  explicit SwimIsland(Options options);

  static std::string address_of(std::size_t node);
  std::optional<std::size_t> index_of(const std::string& address) const;

  void run_for(core::Duration duration);
  // Runs until `done` holds (checked after every tick) or `limit` passes; how long it took.
  std::optional<core::Duration> run_until(const std::function<bool()>& done, core::Duration limit);

  // Faults.
  void crash(std::size_t node);    // silent at once, as after kill -9
  void restart(std::size_t node);  // a new process: empty view, a higher incarnation, seeds
  void leave(std::size_t node);    // says bye, then stops
  void cut(std::size_t from, std::size_t to);  // datagrams from -> to are lost
  void isolate_inbound(std::size_t node);      // everything to it is lost
  void partition(const std::set<std::size_t>& side);
  void heal();
  void set_faults(const SwimNetworkFaults& faults) { options_.faults = faults; }
  // Delivers a datagram (through the wire) to `to` after the usual delay, as if sent.
  void inject(std::size_t to, membership::Datagram datagram);

  membership::Swim& node(std::size_t node) { return *nodes_.at(node).swim; }
  bool up(std::size_t node) const { return nodes_.at(node).up; }
  std::size_t size() const { return nodes_.size(); }
  core::SteadyTime now() const { return now_; }

  // What `observer` holds about `subject` (nullopt: not a member, or forgotten).
  std::optional<membership::MemberState> view(std::size_t observer, std::size_t subject) const;
  // Every node that is up, but the subject, holds it in `state`.
  bool everyone_sees(std::size_t subject, membership::MemberState state) const;
  // Every node that is up holds every other one that is up as alive.
  bool converged() const;

  const std::vector<ObservedEvent>& events() const { return events_; }
  // Deaths declared (by anyone) of a node that was up: what the detector must never do.
  std::size_t false_deaths() const;
  std::size_t suspicions() const;
  std::uint64_t datagrams_sent() const { return sent_; }
  std::uint64_t datagrams_rejected() const { return rejected_; }
  std::uint64_t datagrams_too_large() const { return too_large_; }

 private:
  struct Node {
    std::unique_ptr<core::SeededRandom> random;
    std::unique_ptr<membership::Swim> swim;
    bool up = true;
    std::uint64_t incarnation = 0;
    std::uint64_t seq = 0;
  };
  struct InFlight {
    core::SteadyTime at;
    std::uint64_t order;
    std::size_t from;
    std::size_t to;
    std::string bytes;
    bool operator>(const InFlight& other) const {
      return at != other.at ? at > other.at : order > other.order;
    }
  };

  void start(std::size_t node);
  void step();
  void deliver_until(core::SteadyTime until);
  void deliver(const InFlight& datagram);
  void send(std::size_t from, std::vector<membership::Outgoing> outgoing, core::SteadyTime at);
  void post(std::size_t from, std::size_t to, std::string bytes, core::SteadyTime at);
  void collect_events(std::size_t observer);
  bool link_up(std::size_t from, std::size_t to) const;
  bool subject_up(const std::string& address) const;

  Options options_;
  core::SeededRandom network_random_;
  core::SteadyTime now_;
  std::vector<Node> nodes_;
  std::priority_queue<InFlight, std::vector<InFlight>, std::greater<>> in_flight_;
  std::uint64_t order_ = 0;
  std::set<std::pair<std::size_t, std::size_t>> cut_;
  std::vector<ObservedEvent> events_;
  std::uint64_t sent_ = 0;
  std::uint64_t rejected_ = 0;
  std::uint64_t too_large_ = 0;
};

}  // namespace isla::testing
