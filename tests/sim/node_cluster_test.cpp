// Regression tests for the store's replica, each on the whole-node simulation with the one
// fault that broke it, so that the failure is certain rather than left to a seed.
#include <gtest/gtest.h>
#include <spdlog/spdlog.h>

#include "sim/node_cluster.hpp"
#include "sim/stale_tail_episode.hpp"

namespace isla::sim {
namespace {

using consensus::MessageType;
using consensus::ReadStatus;
using consensus::Role;

SimOptions quiet_cluster(std::uint64_t seed = 7) {
  spdlog::set_level(spdlog::level::off);
  SimOptions options;
  options.seed = seed;
  options.clients = 0;
  return options;
}

consensus::DriverExecutor::Time at(const NodeCluster& cluster, std::int64_t plus_us) {
  return consensus::DriverExecutor::Time{} + std::chrono::microseconds(cluster.now_us() + plus_us);
}

NodeId settle_leader(NodeCluster& cluster) {
  for (int step = 0; step < 100 && !cluster.leader(); ++step) {
    cluster.run_until(cluster.now_us() + 50'000);
  }
  EXPECT_TRUE(cluster.leader());
  return cluster.leader().value_or(1);
}

NodeId a_follower(NodeCluster& cluster, NodeId leader) {
  for (NodeId id : cluster.node_ids()) {
    if (id != leader) return id;
  }
  return 0;
}

// One lost read_index request used to leave its round "in flight" for as long as the
// leader and term stayed the same: every later read on that node timed out.
TEST(NodeCluster, ReadsOnAFollowerRecoverFromALostReadIndexRequest) {
  NodeCluster cluster(quiet_cluster());
  const NodeId leader = settle_leader(cluster);
  const NodeId follower = a_follower(cluster, leader);
  bool dropped = false;
  cluster.drop_when([&](const consensus::Message& message) {
    if (message.type != MessageType::read_index || dropped) return false;
    dropped = true;
    return true;
  });
  std::vector<ReadStatus> answers;
  for (int round = 0; round < 5; ++round) {
    cluster.on_node(follower, [&](consensus::RaftDriver& driver) {
      driver.read(at(cluster, 2'000'000), [&](ReadStatus status) { answers.push_back(status); });
    });
    cluster.run_until(cluster.now_us() + 400'000);
  }
  EXPECT_TRUE(dropped);
  ASSERT_EQ(answers.size(), 5u);
  for (auto status : answers) EXPECT_EQ(status, ReadStatus::ok);
  EXPECT_EQ(cluster.leader(), leader);  // recovered without a change of leader or term
  EXPECT_GT(cluster.driver(follower)->status().read_retries, 0u);
  EXPECT_TRUE(cluster.violations().empty()) << cluster.violations().front();
}

// Waiters whose callers gave up are dropped at their deadline, not kept until something
// else happens to release them.
TEST(NodeCluster, AbandonedWaitersLeaveAtTheirDeadline) {
  NodeCluster cluster(quiet_cluster());
  const NodeId leader = settle_leader(cluster);
  const NodeId follower = a_follower(cluster, leader);
  cluster.partition({follower});  // its reads can never be confirmed
  int answered = 0;
  cluster.on_node(follower, [&](consensus::RaftDriver& driver) {
    for (int i = 0; i < 1000; ++i) {
      driver.wait_applied_beyond(1'000'000, at(cluster, 200'000),
                                 [&](consensus::Index) { ++answered; });
      driver.read(at(cluster, 200'000), [&](ReadStatus) { ++answered; });
    }
  });
  EXPECT_GE(cluster.driver(follower)->status().waiters, 1000u);
  cluster.run_until(cluster.now_us() + 400'000);
  EXPECT_EQ(answered, 2000);
  EXPECT_EQ(cluster.driver(follower)->status().waiters, 0u);
}

// A restarted member learns its peers' addresses from its own data: the simulation
// restarts nodes with only their own address in the options, as a gateway restarted with
// --store-voters naming only itself would be.
TEST(NodeCluster, RestartedMembersFindTheirPeersFromTheirOwnData) {
  NodeCluster cluster(quiet_cluster());
  const NodeId first = settle_leader(cluster);
  // Enough writes for a snapshot to cover the entries that named the members.
  int applied = 0;
  cluster.on_node(first, [&](consensus::RaftDriver& driver) {
    for (int i = 0; i < 50; ++i) {
      driver.propose("write", at(cluster, 1'000'000), [&](consensus::ProposeResult result) {
        applied += result.status == consensus::ProposeStatus::ok ? 1 : 0;
      });
    }
  });
  cluster.run_until(cluster.now_us() + 500'000);
  ASSERT_EQ(applied, 50);
  ASSERT_GT(cluster.driver(first)->raft().log().snapshot_index(), 0u);
  for (NodeId id : cluster.node_ids()) cluster.crash(id);
  for (NodeId id : cluster.node_ids()) cluster.restart(id);
  const NodeId leader = settle_leader(cluster);
  const auto& addresses = cluster.driver(leader)->addresses();
  EXPECT_EQ(addresses.size(), cluster.node_ids().size());
  consensus::ProposeStatus status = consensus::ProposeStatus::unknown;
  cluster.on_node(leader, [&](consensus::RaftDriver& driver) {
    driver.propose("not a command", at(cluster, 1'000'000),
                   [&](consensus::ProposeResult result) { status = result.status; });
  });
  cluster.run_until(cluster.now_us() + 500'000);
  EXPECT_EQ(status, consensus::ProposeStatus::ok);
}

// Issue 9, bug 3: a follower whose log already held the entry of the leader's snapshot
// answered with its last index, vouching for an old leader's uncommitted tail that the new
// leader never had; the leader took those entries for its own and counted them towards
// commit. The episode stages that state (stale_tail_episode.hpp); the leader's view of the
// follower must stay true and nothing acknowledged may be lost.
TEST(NodeCluster, AFollowerHoldingTheSnapshotsEntryVouchesOnlyForWhatItCovers) {
  SimOptions options = quiet_cluster();
  options.nodes = 5;
  options.snapshot_every = 5;
  // A round trip outlasts a simulated ms: the tail leaves before any acknowledgement is back.
  options.faults.min_delay_us = 700;
  options.faults.max_delay_us = 1'500;
  NodeCluster cluster(options);
  settle_leader(cluster);
  StaleTailEpisode episode(cluster);
  StaleTailPlan plan;
  plan.agreed_writes = static_cast<int>(options.snapshot_every);
  episode.start(plan);
  cluster.run_until(cluster.now_us() + 2'000'000, [&] { episode.step(); });
  EXPECT_FALSE(episode.running());
  ASSERT_EQ(episode.staged(), 1u) << "the schedule no longer reaches the state it is about";
  for (NodeId id : cluster.node_ids()) cluster.restart(id);  // the old leader died
  cluster.run_until(cluster.now_us() + 1'000'000);
  EXPECT_TRUE(cluster.violations().empty()) << cluster.violations().front();
  const auto lost = episode.lost_writes();
  EXPECT_TRUE(lost.empty()) << lost.front();
  const NodeId leader = settle_leader(cluster);
  for (NodeId id : cluster.node_ids()) {
    EXPECT_EQ(cluster.content(id), cluster.content(leader)) << "node " << id;
  }
}

}  // namespace
}  // namespace isla::sim
