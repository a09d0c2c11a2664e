#pragma once
// A deterministic island of electors on a SimNetwork, driven by one FakeClock and one seed:
// each step advances time, delivers what is due and ticks every live node, then checks the
// safety invariants (at most one leader per term over the whole run; a node's term never goes
// back). Nodes can crash (they stop; what they hold is lost) and restart as new electors.
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "core/clock.hpp"
#include "core/random.hpp"
#include "election/election.hpp"
#include "sim_network.hpp"

namespace isla::election::testing {

struct ClusterOptions {
  std::uint64_t seed = 1;
  NetworkFaults faults;
  core::Duration tick = 1ms;  // how often the driver calls tick()
};

class ElectionCluster {
 public:
  using Factory = std::function<std::unique_ptr<Elector>(const Candidate& self)>;

  ElectionCluster(std::vector<Candidate> nodes, Factory factory, ClusterOptions options = {});

  // Every node learns the whole island as its members and starts.
  void start();
  void step();
  void run_for(core::Duration span);
  // Steps until `done` holds; how long that took, or nullopt if `limit` passed first.
  std::optional<core::Duration> run_until(const std::function<bool()>& done, core::Duration limit);

  void crash(const NodeId& id);
  void restart(const NodeId& id);
  void partition(std::set<NodeId> side) { network_.partition(std::move(side)); }
  void heal() { network_.heal(); }
  void set_faults(NetworkFaults faults) { network_.set_faults(faults); }
  // What the membership layer of `id` reports alive.
  void set_members(const NodeId& id, std::vector<Candidate> alive);
  // Calls something of live node `id`'s own (e.g. BullyElector::set_priority) and sends what
  // it returns.
  void act(const NodeId& id, const std::function<std::vector<Outgoing>(Elector&)>& call);

  // The leader every live node follows, in one term, which itself leads; nullopt otherwise.
  std::optional<NodeId> agreed_leader() const;
  Elector& node(const NodeId& id) { return *nodes_.at(id).elector; }
  bool alive(const NodeId& id) const { return nodes_.at(id).alive; }
  std::vector<NodeId> ids() const;
  std::vector<Candidate> candidates() const;
  core::SteadyTime now() const { return clock_.now(); }
  // Every event `id` reported, across restarts.
  const std::vector<ElectionEvent>& events(const NodeId& id) const { return nodes_.at(id).events; }
  const std::vector<std::string>& violations() const { return violations_; }
  const SimNetwork& network() const { return network_; }

 private:
  struct Node {
    Candidate candidate;
    std::unique_ptr<Elector> elector;
    bool alive = true;
    Term last_term = 0;
    std::vector<ElectionEvent> events;
  };

  void boot(Node& node);
  void send(const std::vector<Outgoing>& out);
  void collect_events(Node& node);
  void check_invariants();

  Factory factory_;
  ClusterOptions options_;
  core::FakeClock clock_;
  core::SeededRandom random_;
  SimNetwork network_;
  std::map<NodeId, Node> nodes_;
  std::map<Term, NodeId> leader_of_term_;
  std::vector<std::string> violations_;
};

// For tests that print what they measured.
inline double as_ms(core::Duration duration) {
  return std::chrono::duration<double, std::milli>(duration).count();
}

}  // namespace isla::election::testing
