// Scenario tests on the deterministic cluster: elections, check-quorum, pre-vote,
// snapshots, membership changes. The randomised runs are in tests/sim.
#include "support/raft_cluster.hpp"

#include <gtest/gtest.h>

namespace isla::testing {
namespace {

using consensus::ConfChange;
using consensus::Role;

RaftCluster::Options quiet(int nodes, std::uint64_t seed = 1) {
  RaftCluster::Options options;
  options.nodes = nodes;
  options.seed = seed;
  options.clients = 0;
  return options;
}

void expect_safe(const RaftCluster& cluster) {
  for (const auto& problem : cluster.violations()) ADD_FAILURE() << problem;
}

NodeId wait_for_leader(RaftCluster& cluster, int max_ticks = 200) {
  for (int i = 0; i < max_ticks; ++i) {
    if (auto leader = cluster.leader()) return *leader;
    cluster.step();
  }
  return 0;
}

TEST(RaftCluster, ElectsALeaderIn3And5NodeClusters) {
  for (int nodes : {3, 5}) {
    RaftCluster cluster(quiet(nodes));
    EXPECT_NE(wait_for_leader(cluster), 0u) << nodes;
    cluster.run(100);
    EXPECT_EQ(cluster.elections(), 1u) << "a stable cluster re-elected";
    expect_safe(cluster);
  }
}

TEST(RaftCluster, ClientsSeeTheSameStateOnEveryNode) {
  auto options = quiet(3);
  options.clients = 3;
  RaftCluster cluster(options);
  cluster.run(600);
  cluster.stop_clients();
  cluster.run(200);
  ASSERT_GT(cluster.history().size(), 50u);
  const auto state = cluster.state(1);
  for (NodeId id : {2, 3}) EXPECT_EQ(cluster.state(id), state) << id;
  expect_safe(cluster);
}

TEST(RaftCluster, IsolatedLeaderStepsDownAndTheRestElectAnother) {
  RaftCluster cluster(quiet(5));
  const NodeId old_leader = wait_for_leader(cluster);
  ASSERT_NE(old_leader, 0u);
  cluster.partition({old_leader});
  cluster.run(60);  // a few election timeouts
  EXPECT_NE(cluster.node(old_leader)->role(), Role::leader) << "check-quorum did not step down";
  auto new_leader = cluster.leader();
  ASSERT_TRUE(new_leader);
  EXPECT_NE(*new_leader, old_leader);
  expect_safe(cluster);
}

TEST(RaftCluster, PreVoteKeepsAPartitionedFollowerFromDisruptingOnRejoin) {
  RaftCluster cluster(quiet(3));
  const NodeId leader = wait_for_leader(cluster);
  const NodeId loner = leader % 3 + 1;
  const auto term = cluster.node(leader)->term();
  cluster.partition({loner});
  cluster.run(300);
  EXPECT_EQ(cluster.node(loner)->term(), term) << "pre-vote let the term grow";
  cluster.heal();
  cluster.run(100);
  EXPECT_EQ(cluster.leader(), leader);
  EXPECT_EQ(cluster.node(leader)->term(), term);
  expect_safe(cluster);
}

TEST(RaftCluster, CrashedNodeCatchesUpThroughASnapshot) {
  auto options = quiet(3);
  options.clients = 3;
  RaftCluster cluster(options);
  const NodeId leader = wait_for_leader(cluster);
  const NodeId victim = leader % 3 + 1;
  cluster.crash(victim);
  cluster.run(800);  // enough writes for several snapshots
  ASSERT_GT(cluster.node(leader)->log().snapshot_index(), 0u);
  cluster.restart(victim);
  cluster.stop_clients();
  cluster.run(300);
  EXPECT_EQ(cluster.state(victim), cluster.state(leader));
  EXPECT_EQ(cluster.applied(victim), cluster.applied(leader));
  expect_safe(cluster);
}

TEST(RaftCluster, LearnerJoinsIsPromotedAndTheOldLeaderIsRemoved) {
  auto options = quiet(3);
  options.clients = 2;
  RaftCluster cluster(options);
  const NodeId first = wait_for_leader(cluster);
  cluster.run(100);
  cluster.add_node(4);
  ASSERT_TRUE(cluster.change({ConfChange::Kind::add_learner, 4, {}}));
  cluster.run(100);
  ASSERT_TRUE(cluster.change({ConfChange::Kind::add_voter, 4, {}}));
  cluster.run(100);
  EXPECT_EQ(cluster.node(first)->conf().voters.size(), 4u);
  ASSERT_TRUE(cluster.change({ConfChange::Kind::remove, first, {}}));
  cluster.run(300);
  auto leader = cluster.leader();
  ASSERT_TRUE(leader);
  EXPECT_NE(*leader, first);
  EXPECT_EQ(cluster.node(*leader)->conf().voters.size(), 3u);
  cluster.stop_clients();
  cluster.run(200);
  EXPECT_EQ(cluster.state(4), cluster.state(*leader));
  expect_safe(cluster);
}

}  // namespace
}  // namespace isla::testing
