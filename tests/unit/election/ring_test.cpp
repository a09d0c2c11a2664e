#include "election/ring.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>

#include "fixtures.hpp"

namespace isla::election::testing {
namespace {

using namespace std::chrono_literals;

TEST(Ring, FiveNodesElectTheHighest) {
  ElectionCluster cluster(island(5), ring());
  cluster.start();
  ASSERT_TRUE(until_leader(cluster, id(5), 5s));
  // And it stays that way: no further election, no new term.
  const auto term = cluster.node(id(5)).term();
  cluster.run_for(3s);
  EXPECT_EQ(cluster.agreed_leader(), id(5));
  EXPECT_EQ(cluster.node(id(5)).term(), term);
  EXPECT_EQ(cluster.network().ring_conclusions().size(), 1u);
  EXPECT_TRUE(cluster.violations().empty()) << cluster.violations().front();
}

TEST(Ring, PriorityRanksAboveTheId) {
  ElectionCluster cluster(island(5, {0, 7, 0, 0, 0}), ring());
  cluster.start();
  EXPECT_TRUE(until_leader(cluster, id(2), 5s));
}

TEST(Ring, ALoneNodeLeadsAtOnce) {
  ElectionCluster cluster(island(1), ring());
  cluster.start();
  EXPECT_EQ(cluster.agreed_leader(), id(1));
}

TEST(Ring, SurvivorsReplaceACrashedLeaderWithinTwoSeconds) {
  core::Duration worst{};
  core::Duration total{};
  const auto seeds = seed_count(50);
  for (std::uint64_t seed = 1; seed <= seeds; ++seed) {
    ElectionCluster cluster(island(5), ring(), seeded(seed));
    cluster.start();
    ASSERT_TRUE(until_leader(cluster, id(5), 5s)) << "seed " << seed;
    cluster.run_for(std::chrono::milliseconds(seed * 37 % 100));  // crash between heartbeats
    cluster.crash(id(5));
    // No membership layer here: the survivors notice by the missing heartbeats, and every
    // ring pass skips the dead node by hop timeouts.
    const auto took = until_leader(cluster, id(4), 2s);
    ASSERT_TRUE(took) << "seed " << seed;
    worst = std::max(worst, *took);
    total += *took;
    EXPECT_TRUE(cluster.violations().empty()) << cluster.violations().front();
  }
  std::printf("ring takeover after a crash (heartbeats only): mean %.0f ms, worst %.0f ms\n",
              as_ms(total) / static_cast<double>(seeds), as_ms(worst));
  RecordProperty("takeover_worst_ms", static_cast<int>(as_ms(worst)));
}

TEST(Ring, TheMembershipLayerDroppingTheLeaderStartsAnElectionAtOnce) {
  ElectionCluster cluster(island(5), ring());
  cluster.start();
  ASSERT_TRUE(until_leader(cluster, id(5), 5s));
  cluster.crash(id(5));
  for (int n = 1; n <= 4; ++n) cluster.set_members(id(n), without(island(5), id(5)));
  const auto took = until_leader(cluster, id(4), 2s);
  ASSERT_TRUE(took);
  // Sooner than the heartbeat timeout alone could have noticed.
  EXPECT_LT(*took, LivenessOptions{}.leader_timeout());
  std::printf("ring takeover when membership reports the leader gone: %.0f ms\n", as_ms(*took));
}

TEST(Ring, ACrashedNodeInTheMiddleOfTheRingIsSkipped) {
  ElectionCluster cluster(island(5), ring());
  cluster.start();
  cluster.crash(id(3));
  ASSERT_TRUE(until_leader(cluster, id(5), 5s));
  // id(2) passes the ring messages on to id(3), which never acknowledges.
  EXPECT_TRUE(recorded(cluster.events(id(2)), EventKind::peer_skipped, id(3)));
  EXPECT_FALSE(recorded(cluster.events(id(4)), EventKind::peer_skipped));
}

TEST(Ring, TheHighestNodeDeadBeforeTheElectionIsNotElected) {
  ElectionCluster cluster(island(5), ring());
  cluster.start();
  cluster.crash(id(5));
  EXPECT_TRUE(until_leader(cluster, id(4), 5s));
  EXPECT_TRUE(cluster.violations().empty()) << cluster.violations().front();
}

TEST(Ring, TwoConcurrentInitiatorsProduceOneLeader) {
  for (std::uint64_t seed = 1; seed <= 10; ++seed) {
    ElectionCluster cluster(island(5), ring(), seeded(seed));
    cluster.start();
    ASSERT_TRUE(until_leader(cluster, id(5), 5s));
    const auto before = cluster.network().ring_conclusions().size();
    cluster.crash(id(5));
    // Two nodes learn of the death at the same instant and both start an election.
    cluster.set_members(id(1), without(island(5), id(5)));
    cluster.set_members(id(3), without(island(5), id(5)));
    ASSERT_TRUE(until_leader(cluster, id(4), 3s)) << "seed " << seed;
    // id(1)'s election is stopped by id(3), which forwarded a higher one: one conclusion.
    EXPECT_EQ(cluster.network().ring_conclusions().size(), before + 1) << "seed " << seed;
    EXPECT_TRUE(recorded(cluster.events(id(1)), EventKind::election_started));
    EXPECT_TRUE(recorded(cluster.events(id(3)), EventKind::election_started));
  }
}

TEST(Ring, ConvergesDespiteLossDuplicationAndReordering) {
  const auto worst = worst_takeover_under_loss(island(5), ring(), id(5), id(4), seed_count(100));
  std::printf("ring takeover with 10%% loss, 10%% duplicates, 1-20 ms delays: worst %.0f ms\n",
              as_ms(worst));
}

TEST(Ring, AnOldLeaderHealedFromAPartitionStepsDown) {
  // id(5) leads, is cut off, id(4) takes over; when the link comes back id(5) hears the newer
  // term, steps down, and (being the highest) wins a new election.
  ElectionCluster cluster(island(5), ring());
  cluster.start();
  ASSERT_TRUE(until_leader(cluster, id(5), 5s));
  cluster.partition({id(5)});
  const auto majority_follows_4 = [&] {
    for (int n = 1; n <= 4; ++n) {
      if (cluster.node(id(n)).leader() != id(4)) return false;
    }
    return cluster.node(id(4)).is_leader();
  };
  ASSERT_TRUE(cluster.run_until(majority_follows_4, 3s));
  EXPECT_TRUE(cluster.node(id(5)).is_leader());  // it cannot know yet
  const auto term_of_4 = cluster.node(id(4)).term();
  cluster.heal();
  ASSERT_TRUE(until_leader(cluster, id(5), 3s));
  EXPECT_TRUE(recorded(cluster.events(id(5)), EventKind::stepped_down));
  EXPECT_GT(cluster.node(id(5)).term(), term_of_4);
  EXPECT_TRUE(cluster.violations().empty()) << cluster.violations().front();
}

// Crashes, restarts and partitions at random under a lossy network: at most one leader per
// term at every step, and once the faults stop, the highest node leads.
TEST(Ring, AtMostOneLeaderPerTermUnderRandomFaults) {
  const NetworkFaults lossy{.drop = 0.05, .duplicate = 0.05, .min_delay = 1ms, .max_delay = 10ms};
  for (std::uint64_t seed = 1; seed <= seed_count(200); ++seed) {
    ElectionCluster cluster(island(5), ring(), seeded(seed, lossy, 2ms));
    core::SeededRandom chaos(seed * 7919);
    cluster.start();
    run_random_faults(cluster, 5, chaos);
    EXPECT_TRUE(until_leader(cluster, id(5), 10s)) << "seed " << seed;
    EXPECT_TRUE(cluster.violations().empty())
        << "seed " << seed << ": " << cluster.violations().front();
  }
}

// Message-level: a node that forwarded a higher election drops a lower one (but acknowledges
// it, so that its sender does not skip it).
TEST(Ring, ANodeInAHigherElectionSuppressesALowerOne) {
  const auto start = core::SteadyTime{} + 1h;
  RingOptions options;
  options.self = {id(2), 0};
  RingElector node(options);
  node.set_members(island(3), start);
  node.start(start);
  ElectionMessage higher;
  higher.kind = MessageKind::ring_election;
  higher.from = {id(1), 0};
  higher.initiator = id(3);
  higher.attempt = 1;
  higher.seq = 1;
  higher.candidates = {{id(3), 0}, {id(1), 0}};
  auto out = node.on_message(higher, start);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].message.kind, MessageKind::ring_ack);
  EXPECT_EQ(out[1].to, id(3));
  EXPECT_EQ(out[1].message.candidates.back().id, id(2));

  auto lower = higher;
  lower.initiator = id(1);
  lower.seq = 2;
  lower.candidates = {{id(1), 0}};
  out = node.on_message(lower, start);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].message.kind, MessageKind::ring_ack);
  EXPECT_EQ(out[0].message.seq, 2u);
  // A duplicate of the higher one is acknowledged and goes no further either.
  out = node.on_message(higher, start);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].message.kind, MessageKind::ring_ack);
}

}  // namespace
}  // namespace isla::election::testing
