#pragma once
// A deterministic network for the election tests: each message is delayed by a random time
// in [min_delay, max_delay] (so later messages overtake earlier ones), lost or delivered twice
// at the given rates, and lost between the two sides of a partition (in flight too). Every
// message crosses as JSON through the election codec, as it will in a datagram.
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "core/clock.hpp"
#include "core/random.hpp"
#include "election/election.hpp"

namespace isla::election::testing {

using namespace std::chrono_literals;

struct NetworkFaults {
  double drop = 0.0;
  double duplicate = 0.0;
  core::Duration min_delay = 1ms;
  core::Duration max_delay = 5ms;
};

struct Delivery {
  NodeId from;
  NodeId to;
  ElectionMessage message;
};

class SimNetwork {
 public:
  SimNetwork(core::Random& random, NetworkFaults faults);

  void send(const Outgoing& outgoing, core::SteadyTime now);
  // The messages due by `now`, earliest first; the link must still be up when they arrive.
  std::vector<Delivery> due(core::SteadyTime now);

  // Cuts every link between `side` and the other nodes, both ways, until heal().
  void partition(std::set<NodeId> side);
  void heal() { side_.clear(); }
  void set_faults(NetworkFaults faults) { faults_ = faults; }

  std::uint64_t sent(MessageKind kind) const;
  // Each ring election concluded, as (its concluding node, the term it gave the winner).
  const std::set<std::pair<NodeId, Term>>& ring_conclusions() const { return conclusions_; }
  // Messages that did not decode: our own encoder produced something the decoder refuses.
  const std::vector<std::string>& rejected() const { return rejected_; }

 private:
  bool linked(const NodeId& a, const NodeId& b) const;
  core::Duration delay();

  core::Random& random_;
  NetworkFaults faults_;
  std::set<NodeId> side_;
  std::uint64_t order_ = 0;  // ties at one instant go in send order
  std::map<std::pair<core::SteadyTime, std::uint64_t>, std::tuple<NodeId, NodeId, std::string>>
      in_flight_;
  std::map<MessageKind, std::uint64_t> sent_;
  std::set<std::pair<NodeId, Term>> conclusions_;
  std::vector<std::string> rejected_;
};

}  // namespace isla::election::testing
