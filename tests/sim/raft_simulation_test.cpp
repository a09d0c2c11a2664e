// Randomised deterministic simulation of a Raft cluster under faults: message delay, loss,
// duplication and reordering, partitions (also one-way), crashes and restarts, clock skew
// and membership changes. Each seed must keep Raft's safety invariants, produce a
// linearizable client history and converge once the faults stop. A failing seed prints the
// command that replays it.
#include <gtest/gtest.h>

#include <cstdlib>
#include <random>
#include <sstream>

#include "sim/linearizability.hpp"
#include "sim/seeded_runs.hpp"
#include "support/raft_cluster.hpp"

namespace isla::testing {
namespace {

using consensus::ConfChange;

constexpr int kShards = 8;

int seeds_to_run() {
  const char* text = std::getenv("ISLA_SIM_SEEDS");
  return text != nullptr ? std::max(1, std::atoi(text)) : 2000;
}

std::vector<sim::Operation> to_checker(const std::vector<ClientOp>& history) {
  std::vector<sim::Operation> out;
  for (const auto& op : history) {
    sim::Operation converted;
    converted.client = op.client;
    converted.call = op.call;
    converted.ret = op.unknown ? op.call : op.ret;
    converted.unknown = op.unknown;
    converted.input.kind = op.kind == "get"   ? sim::OpKind::get
                           : op.kind == "put" ? sim::OpKind::put
                           : op.kind == "del" ? sim::OpKind::del
                                              : sim::OpKind::cas;
    converted.input.key = op.key;
    converted.input.value = op.value;
    converted.input.expected = op.expected;
    converted.output.ok = op.ok;
    converted.output.value = op.result;
    // An unanswered read constrains nothing; the checker ignores its output anyway.
    out.push_back(std::move(converted));
  }
  return out;
}

struct Outcome {
  std::vector<std::string> problems;
  std::size_t operations = 0;
  std::size_t elections = 0;
};

// One seeded run. Everything random comes from `seed`.
Outcome simulate(std::uint64_t seed) {
  std::mt19937_64 random(seed);
  auto chance = [&](double p) { return std::uniform_real_distribution<double>(0, 1)(random) < p; };
  auto pick = [&](int low, int high) {
    return std::uniform_int_distribution<int>(low, high)(random);
  };

  RaftCluster::Options options;
  options.seed = seed;
  options.nodes = seed % 2 == 0 ? 3 : 5;
  options.clients = 3;
  options.keys = 3;
  options.raft.election_ticks = 10;
  options.raft.heartbeat_ticks = 2;
  NetworkFaults faults;
  faults.drop = 0.1 * std::uniform_real_distribution<double>(0, 1)(random);
  faults.duplicate = 0.05 * std::uniform_real_distribution<double>(0, 1)(random);
  faults.min_delay = 1;
  faults.max_delay = pick(1, 6);
  options.faults = faults;
  RaftCluster cluster(options);

  const int nodes = options.nodes;
  const int max_down = (nodes - 1) / 2;
  std::set<NodeId> down;
  const bool membership = seed % 4 == 1;
  const NodeId joiner = static_cast<NodeId>(nodes + 1);
  int membership_step = 0;

  const int fault_ticks = 1200;
  cluster.run(fault_ticks, [&](int tick) {
    if (tick % 25 != 0) return;
    const int roll = pick(0, 99);
    if (roll < 15 && static_cast<int>(down.size()) < max_down) {
      const NodeId victim = static_cast<NodeId>(pick(1, nodes));
      if (down.insert(victim).second) cluster.crash(victim);
    } else if (roll < 30 && !down.empty()) {
      const NodeId back = *down.begin();
      down.erase(down.begin());
      cluster.restart(back);
    } else if (roll < 40) {
      std::set<NodeId> side;
      for (int id = 1; id <= nodes; ++id) {
        if (chance(0.4)) side.insert(static_cast<NodeId>(id));
      }
      cluster.partition(side);
    } else if (roll < 44) {
      cluster.cut(static_cast<NodeId>(pick(1, nodes)), static_cast<NodeId>(pick(1, nodes)));
    } else if (roll < 52) {
      // Isolate the leader: the deposed leader's window is where stale reads would hide.
      // A slow clock (a paused VM, say) makes it believe in its leadership longest.
      if (auto leader = cluster.leader()) {
        cluster.partition({*leader});
        if (chance(0.5)) cluster.skew(*leader, 40);
      }
    } else if (roll < 60) {
      cluster.heal();
    } else if (roll < 63) {
      cluster.skew(static_cast<NodeId>(pick(1, nodes)), pick(40, 160));
    } else if (membership && roll < 75) {
      // Learner joins, is promoted, then removed again, while the faults go on.
      if (membership_step == 0) {
        cluster.add_node(joiner);
        membership_step = 1;
      } else if (membership_step == 1 &&
                 cluster.change({ConfChange::Kind::add_learner, joiner, {}})) {
        membership_step = 2;
      } else if (membership_step == 2 &&
                 cluster.change({ConfChange::Kind::add_voter, joiner, {}})) {
        membership_step = 3;
      } else if (membership_step == 3 && cluster.change({ConfChange::Kind::remove, joiner, {}})) {
        membership_step = 4;
      }
    }
  });

  // Faults stop: the cluster must converge and answer.
  cluster.heal();
  cluster.set_faults(NetworkFaults{});
  for (NodeId id : down) cluster.restart(id);
  cluster.run(300);
  cluster.stop_clients();
  cluster.run(300);

  Outcome outcome;
  outcome.problems = cluster.violations();
  outcome.operations = cluster.history().size();
  outcome.elections = cluster.elections();
  auto leader = cluster.leader();
  if (!leader) {
    outcome.problems.push_back("no leader after the faults stopped");
  } else {
    const auto expected = cluster.state(*leader);
    for (NodeId id : cluster.node_ids()) {
      if (!cluster.up(id) || cluster.node(id)->conf().voters.empty()) continue;
      const auto& voters = cluster.node(*leader)->conf().voters;
      if (std::find(voters.begin(), voters.end(), id) == voters.end()) continue;
      if (cluster.state(id) != expected) {
        outcome.problems.push_back("node " + std::to_string(id) + " did not converge");
      }
    }
  }
  if (auto problem = sim::linearizability_problem(to_checker(cluster.history()))) {
    outcome.problems.push_back(*problem);
  }
  return outcome;
}

class RaftSimulation : public ::testing::TestWithParam<int> {};

TEST_P(RaftSimulation, SeedsKeepSafetyLinearizabilityAndConverge) {
  const int shard = GetParam();
  const int seeds = seeds_to_run();
  std::size_t operations = 0;
  sim::run_seed_shard(
      shard, kShards, seeds,
      [&](std::uint64_t seed) {
        const auto outcome = simulate(seed);
        operations += outcome.operations;
        return outcome.problems;
      },
      "isla_raft_sim_tests", "RaftSimulation.ReplaySeed");
  EXPECT_GT(operations, 0u);
  std::cout << "shard " << shard << ": " << operations << " client operations checked\n";
}

INSTANTIATE_TEST_SUITE_P(Shards, RaftSimulation, ::testing::Range(0, kShards));

TEST(RaftSimulation, ReplaySeed) {
  const char* text = std::getenv("ISLA_SIM_SEED");
  const std::uint64_t seed = text != nullptr ? std::strtoull(text, nullptr, 10) : 1;
  const auto outcome = simulate(seed);
  for (const auto& problem : outcome.problems) ADD_FAILURE() << problem;
  std::cout << "seed " << seed << ": " << outcome.operations << " operations, " << outcome.elections
            << " elections, " << outcome.problems.size() << " problems\n";
}

}  // namespace
}  // namespace isla::testing
