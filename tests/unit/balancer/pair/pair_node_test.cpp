// The balancer pair's member (pair_node.hpp) on a simulated network with a fake clock: who
// holds the service address, when it moves, and that it never has two holders while the two
// members can talk.
#include "balancer/pair/pair_node.hpp"

#include <gtest/gtest.h>

#include "balancer/pair/heartbeat_codec.hpp"
#include "pair_harness.hpp"

namespace isla::balancer::pair::testing {
namespace {

using namespace std::chrono_literals;

TEST(PairNode, SimultaneousStartElectsExactlyOneHigherPriorityActive) {
  for (std::uint64_t seed = 1; seed <= 40; ++seed) {
    PairHarness pair(seed);
    pair.set_faults({.loss = 0.05, .duplicate = 0.05, .min_delay = 1ms, .max_delay = 8ms});
    pair.start(0);
    pair.start(1);
    ASSERT_TRUE(pair.run_until([&] { return pair.holders() == 1; }, 3s)) << "seed " << seed;
    pair.run_for(2s);
    EXPECT_EQ(pair.holders(), 1) << "seed " << seed;
    EXPECT_TRUE(pair.holds(0)) << "seed " << seed << ": the higher priority leads";
    EXPECT_EQ(pair.node(0).role(), PairRole::active);
    EXPECT_EQ(pair.node(1).role(), PairRole::standby);
    EXPECT_EQ(pair.node(1).status().leader, "10.0.0.1:7000");
    EXPECT_EQ(pair.max_holders_while_connected(), 1) << "seed " << seed;
    EXPECT_EQ(pair.timeline().size(), 1u) << "seed " << seed << ": one claim, no flapping";
  }
}

TEST(PairNode, HigherPriorityReturningTakesOverWithAHigherTermAfterTheOldOneReleased) {
  for (std::uint64_t seed = 1; seed <= 20; ++seed) {
    PairHarness pair(seed);
    pair.set_faults({.loss = 0.02, .duplicate = 0.02, .min_delay = 1ms, .max_delay = 5ms});
    pair.start(1);
    ASSERT_TRUE(pair.run_until([&] { return pair.holds(1); }, 2s));
    const auto old_term = pair.node(1).term();
    pair.start(0);
    ASSERT_TRUE(pair.run_until([&] { return pair.holds(0); }, 3s)) << "seed " << seed;
    pair.run_for(1s);
    EXPECT_FALSE(pair.holds(1));
    EXPECT_GT(pair.node(0).term(), old_term);
    EXPECT_EQ(pair.max_holders_while_connected(), 1) << "seed " << seed << ": never two holders";
    // B released (at or) before A claimed.
    const auto& events = pair.timeline();
    ASSERT_EQ(events.size(), 3u);
    EXPECT_EQ(events[1].member, 1);
    EXPECT_FALSE(events[1].claim);
    EXPECT_EQ(events[2].member, 0);
    EXPECT_TRUE(events[2].claim);
    EXPECT_LE(events[1].at, events[2].at);
  }
}

TEST(PairNode, ActiveCrashFailsOverWithinThePeerTimeout) {
  PairHarness pair(7);
  pair.start(0);
  pair.start(1);
  ASSERT_TRUE(pair.run_until([&] { return pair.holds(0); }, 2s));
  pair.run_for(500ms);
  pair.crash(0);
  const auto crashed = pair.clock().now();
  ASSERT_TRUE(pair.run_until([&] { return pair.holds(1); }, 2s));
  const auto took = pair.clock().now() - crashed;
  const auto options = pair.options(1);
  EXPECT_LE(took, options.peer_timeout + 2 * options.tick_interval)
      << "failover took " << core::millis_between(crashed, pair.clock().now()) << " ms";
  EXPECT_GE(took, options.peer_timeout - options.beat_interval() - 5ms);
}

TEST(PairNode, GracefulStopHandsOverWithoutWaitingForThePeerTimeout) {
  PairHarness pair(3);
  pair.start(0);
  pair.start(1);
  ASSERT_TRUE(pair.run_until([&] { return pair.holds(0); }, 2s));
  pair.run_for(300ms);
  pair.stop(0);
  EXPECT_FALSE(pair.holds(0));
  const auto stopped = pair.clock().now();
  ASSERT_TRUE(pair.run_until([&] { return pair.holds(1); }, 2s));
  EXPECT_LT(pair.clock().now() - stopped, 50ms);
}

// Two members that cannot hear each other both lead, each in its own half (VRRP does the
// same; with two members there is no majority to ask). When the link heals the lower term
// steps down at once and releases: exactly one holder remains.
TEST(PairNode, PartitionMakesBothActiveAndHealLeavesExactlyOneWithTheHigherTerm) {
  for (std::uint64_t seed = 1; seed <= 20; ++seed) {
    PairHarness pair(seed);
    pair.set_faults({.loss = 0.05, .duplicate = 0.0, .min_delay = 1ms, .max_delay = 5ms});
    pair.start(0);
    pair.start(1);
    ASSERT_TRUE(pair.run_until([&] { return pair.holds(0); }, 2s));
    pair.set_cut(true);
    ASSERT_TRUE(pair.run_until([&] { return pair.holds(1); }, 2s)) << "seed " << seed;
    EXPECT_EQ(pair.holders(), 2);
    const auto term_a = pair.node(0).term();
    const auto term_b = pair.node(1).term();
    ASSERT_NE(term_a, term_b);
    pair.run_for(std::chrono::milliseconds(100 * seed));
    pair.set_cut(false);
    ASSERT_TRUE(pair.run_until([&] { return pair.holders() == 1; }, 1s)) << "seed " << seed;
    pair.reset_max_holders();
    pair.run_for(3s);
    EXPECT_EQ(pair.holders(), 1) << "seed " << seed;
    EXPECT_EQ(pair.max_holders_while_connected(), 1) << "seed " << seed;
    // The higher priority leads in the end (Bully), with a term above both partition terms.
    EXPECT_TRUE(pair.holds(0)) << "seed " << seed;
    EXPECT_GE(pair.node(0).term(), std::max(term_a, term_b));
    EXPECT_EQ(pair.node(1).role(), PairRole::standby);
  }
}

TEST(PairNode, FifteenPercentLossDuplicatesAndReorderingDoNotFlap) {
  for (std::uint64_t seed = 11; seed <= 14; ++seed) {
    PairHarness pair(seed);
    pair.set_faults({.loss = 0.15, .duplicate = 0.10, .min_delay = 1ms, .max_delay = 40ms});
    pair.start(0);
    pair.start(1);
    ASSERT_TRUE(pair.run_until([&] { return pair.holds(0); }, 3s));
    pair.run_for(std::chrono::minutes(3));
    EXPECT_TRUE(pair.holds(0)) << "seed " << seed;
    EXPECT_EQ(pair.timeline().size(), 1u) << "seed " << seed << ": the address moved under loss";
    EXPECT_EQ(pair.max_holders_while_connected(), 1) << "seed " << seed;
    EXPECT_GT(pair.node(1).status().dropped.at("replayed"), 0u) << "duplicates reached the window";
  }
}

TEST(PairNode, ForgedAndReplayedDatagramsAreIgnored) {
  PairHarness pair(5);
  pair.start(0);
  pair.start(1);
  ASSERT_TRUE(pair.run_until([&] { return pair.holds(0); }, 2s));
  const auto term = pair.node(0).term();

  // A forger without the secret claims B leads a far higher term.
  Heartbeat forged;
  forged.node = "10.0.0.2:7000";
  forged.priority = 1000;
  forged.incarnation = pair.wall_ms() + 1;
  forged.seq = 1;
  forged.ts = pair.wall_ms();
  forged.term = election::first_term_after(term + (std::uint64_t{1000} << 32), forged.node);
  election::ElectionMessage coordinator;
  coordinator.kind = election::MessageKind::coordinator;
  coordinator.from = {forged.node, 1000};
  coordinator.term = forged.term;
  forged.messages.push_back(coordinator);
  for (int i = 0; i < 20; ++i) pair.inject(0, encode(forged, "wrong-secret"));
  // Unsigned, and from a node that is not the peer (with the right secret: an island member
  // that is not part of this pair).
  pair.inject(0, encode(forged, ""));
  auto stranger = forged;
  stranger.node = "10.0.0.9:7000";
  stranger.messages.front().from.id = stranger.node;
  pair.inject(0, encode(stranger, kSecret));
  // Replays of everything B ever sent to A: old elections, old answers, old heartbeats.
  const auto captured = pair.sent_to(0);
  for (const auto& bytes : captured) pair.inject(0, bytes);
  pair.run_for(1s);

  EXPECT_TRUE(pair.holds(0));
  EXPECT_EQ(pair.node(0).term(), term);
  EXPECT_EQ(pair.timeline().size(), 1u);
  const auto dropped = pair.node(0).status().dropped;
  EXPECT_EQ(dropped.at("bad_signature"), 21u);
  EXPECT_EQ(dropped.at("unknown_sender"), 1u);
  EXPECT_GE(
      dropped.at("replayed") + (dropped.contains("below_window") ? dropped.at("below_window") : 0),
      captured.size() - 1);
}

TEST(PairNode, ARestartedMemberLeadsATermAboveEveryTermItKnewBefore) {
  PairHarness pair(9);
  pair.start(0);
  ASSERT_TRUE(pair.run_until([&] { return pair.holds(0); }, 2s));
  const auto first = pair.node(0).term();
  for (int restart = 0; restart < 5; ++restart) {
    const auto before = pair.node(0).term();
    pair.crash(0);  // a power cut: only what was synced survives
    pair.start(0);
    ASSERT_TRUE(pair.run_until([&] { return pair.holds(0); }, 2s));
    EXPECT_GT(pair.node(0).term(), before) << "restart " << restart;
  }
  EXPECT_GE(election::round_of(pair.node(0).term()), election::round_of(first) + 5);
}

TEST(PairNode, AMissingOrDamagedTermFileIsReportedAndThePeerRefutesTheStaleTerm) {
  PairHarness pair(13, 100, 200);  // B outranks A
  pair.start(0);
  pair.start(1);
  ASSERT_TRUE(pair.run_until([&] { return pair.holds(1); }, 2s));
  // Rounds go up on B: crash and restart it a few times while A stands by.
  for (int i = 0; i < 3; ++i) {
    pair.crash(1);
    pair.start(1);
    ASSERT_TRUE(pair.run_until([&] { return pair.holds(1) || pair.holds(0); }, 2s));
    ASSERT_TRUE(pair.run_until([&] { return pair.holds(1) && !pair.holds(0); }, 2s));
  }
  const auto b_term = pair.node(1).term();
  // A's term file is damaged while it is down.
  pair.crash(0);
  pair.disk(0).corrupt("/data/pair.term", 16);
  pair.start(0);
  EXPECT_NE(pair.node(0).status().term_file_problem, "");
  pair.run_for(1s);
  EXPECT_TRUE(pair.holds(1));
  EXPECT_FALSE(pair.holds(0));
  EXPECT_EQ(pair.node(0).term(), b_term) << "A learned B's term from B";
  EXPECT_EQ(pair.max_holders_while_connected(), 1);
}

TEST(PairNode, ATermThatCannotBeKeptIsNotLed) {
  PairHarness pair(4);
  pair.disk(0).set_free_bytes(0);  // a full disk: no term can be written
  pair.start(0);
  pair.run_for(1s);
  EXPECT_FALSE(pair.holds(0));
  EXPECT_EQ(pair.node(0).role(), PairRole::taking_over);
  pair.disk(0).set_free_bytes(std::nullopt);
  ASSERT_TRUE(pair.run_until([&] { return pair.holds(0); }, 1s));
}

TEST(PairNode, AFailedClaimIsRetried) {
  PairHarness pair(2);
  pair.address(0).fail_next_claims(3);
  pair.start(0);
  pair.start(1);
  ASSERT_TRUE(pair.run_until([&] { return pair.holds(0); }, 2s));
  EXPECT_EQ(pair.holders(), 1);
}

// With the store lease, a partition in which both members still reach the store gives the
// address to one of them only: the lease refuses the lower term.
TEST(PairNode, StoreLeaseKeepsOneHolderThroughAPartition) {
  PairHarness pair(21);
  pair.use_store_lease();
  pair.start(0);
  pair.start(1);
  ASSERT_TRUE(pair.run_until([&] { return pair.holds(0); }, 2s));
  pair.set_cut(true);
  int most = 0;
  for (int ms = 0; ms < 3000; ++ms) {
    pair.run_for(1ms);
    most = std::max(most, pair.holders());
  }
  EXPECT_EQ(most, 1) << "two holders during the partition, with the lease";
  EXPECT_EQ(pair.holders(), 1);
  pair.set_cut(false);
  pair.run_for(2s);
  EXPECT_EQ(pair.holders(), 1);
}

TEST(PairNode, WithTheStoreLeaseTheStandbyTakesOverOnceTheDeadHoldersLeaseLapses) {
  PairHarness pair(24);
  pair.use_store_lease();
  pair.start(0);
  pair.start(1);
  ASSERT_TRUE(pair.run_until([&] { return pair.holds(0); }, 2s));
  pair.run_for(300ms);
  pair.crash(0);
  const auto crashed = pair.clock().now();
  ASSERT_TRUE(pair.run_until([&] { return pair.holds(1); }, 3s));
  EXPECT_GE(pair.clock().now() - crashed, 500ms) << "took over before the lease lapsed";
}

TEST(PairNode, LosingTheStoreLeaseReleasesTheAddress) {
  PairHarness pair(22);
  pair.use_store_lease();
  pair.start(0);
  ASSERT_TRUE(pair.run_until([&] { return pair.holds(0); }, 2s));
  EXPECT_EQ(pair.node(0).status().lease, "held");
  // Someone with a higher term took the key (e.g. the peer, in a half we cannot hear).
  pair.store().stored = {~election::Term{0}, "10.0.0.2:7000"};
  ASSERT_TRUE(pair.run_until([&] { return !pair.holds(0); }, 2s));
  EXPECT_EQ(pair.node(0).status().lease, "lost");
}

TEST(PairNode, AnUnreachableStoreReleasesTheAddressOnceTheLeaseLapses) {
  PairHarness pair(23);
  pair.use_store_lease();
  pair.start(0);
  ASSERT_TRUE(pair.run_until([&] { return pair.holds(0); }, 2s));
  pair.store().reachable = false;
  const auto cut = pair.clock().now();
  pair.run_for(500ms);
  EXPECT_TRUE(pair.holds(0)) << "a short outage of the store costs nothing";
  ASSERT_TRUE(pair.run_until([&] { return !pair.holds(0); }, 3s));
  EXPECT_GE(pair.clock().now() - cut, 1000ms);
  pair.store().reachable = true;
  ASSERT_TRUE(pair.run_until([&] { return pair.holds(0); }, 3s));
}

// Both members on the store lease, A (the higher priority) holding the address.
::testing::AssertionResult start_leased_pair(PairHarness& pair) {
  pair.use_store_lease();
  pair.start(0);
  pair.start(1);
  if (!pair.run_until([&] { return pair.holds(0); }, 2s)) {
    return ::testing::AssertionFailure() << "A never held the address";
  }
  return ::testing::AssertionSuccess();
}

// Only the active member is cut from the store; the pair still hears each other. Without
// stepping aside it would keep winning the election while unable to hold the lease, and the
// service would stay down until its own link to the store came back.
TEST(PairNode, AnActiveCutFromTheStoreAloneHandsTheAddressToItsPeer) {
  PairHarness pair(25);
  ASSERT_TRUE(start_leased_pair(pair));
  pair.run_for(300ms);
  pair.reset_max_holders();
  pair.cut_from_store(0, true);
  const auto cut = pair.clock().now();
  ASSERT_TRUE(pair.run_until([&] { return pair.holds(1); }, 5s))
      << "the peer, which reaches the store, never took over";
  // A renewed at most one renewal interval (500 ms) before the cut.
  EXPECT_GE(pair.clock().now() - cut, FakeStoreLease::kTtl - 500ms)
      << "took over before A's lease lapsed";
  EXPECT_LE(pair.clock().now() - cut, 3 * FakeStoreLease::kTtl);
  EXPECT_EQ(pair.max_holders_while_connected(), 1);
  EXPECT_EQ(pair.node(0).status().store_reachable, false);
  EXPECT_EQ(pair.node(0).status().announced_priority, 0u);
  // B took over by bullying a live peer, not by giving up on a silent one.
  EXPECT_TRUE(pair.node(1).status().peer_alive);
  EXPECT_EQ(pair.node(1).status().lease, "held");
  // It stays there while A cannot reach the store.
  pair.run_for(3s);
  EXPECT_TRUE(pair.holds(1));
  EXPECT_FALSE(pair.holds(0));
  EXPECT_EQ(pair.max_holders_while_connected(), 1);
}

TEST(PairNode, AMemberThatReachesTheStoreAgainStandsAtItsOwnPriorityAndTakesBack) {
  PairHarness pair(26);
  ASSERT_TRUE(start_leased_pair(pair));
  pair.cut_from_store(0, true);
  ASSERT_TRUE(pair.run_until([&] { return pair.holds(1); }, 5s));
  pair.reset_max_holders();
  pair.cut_from_store(0, false);
  const auto healed = pair.clock().now();
  ASSERT_TRUE(pair.run_until([&] { return pair.holds(0); }, 6s));
  EXPECT_GE(pair.clock().now() - healed, FakeStoreLease::kTtl)
      << "stood again before its probes had found the store for a whole TTL";
  EXPECT_EQ(pair.node(0).status().store_reachable, true);
  EXPECT_EQ(pair.node(0).status().announced_priority, 200u);
  EXPECT_EQ(pair.max_holders_while_connected(), 1);
  EXPECT_FALSE(pair.holds(1));
}

// A store link that comes and goes faster than the TTL does not make the pair flap.
TEST(PairNode, AFlappingStoreLinkDoesNotBounceTheAddressBackAndForth) {
  PairHarness pair(27);
  ASSERT_TRUE(start_leased_pair(pair));
  pair.cut_from_store(0, true);
  ASSERT_TRUE(pair.run_until([&] { return pair.holds(1); }, 5s));
  const auto takeovers_before = pair.node(1).status().takeovers;
  for (int period = 0; period < 10; ++period) {  // 400 ms reachable, 400 ms cut
    pair.cut_from_store(0, false);
    pair.run_for(400ms);
    pair.cut_from_store(0, true);
    pair.run_for(400ms);
  }
  EXPECT_TRUE(pair.holds(1));
  EXPECT_EQ(pair.node(1).status().takeovers, takeovers_before);
  EXPECT_EQ(pair.max_holders_while_connected(), 1);
}

// Both cut from the store: nobody may hold the address, and nobody does; when the store
// returns, one member serves again.
TEST(PairNode, BothCutFromTheStoreHoldNothingAndOneServesWhenItReturns) {
  PairHarness pair(28);
  ASSERT_TRUE(start_leased_pair(pair));
  pair.store().reachable = false;
  ASSERT_TRUE(pair.run_until([&] { return pair.holders() == 0; }, 3s));
  pair.run_for(4s);
  EXPECT_EQ(pair.holders(), 0);
  pair.store().reachable = true;
  ASSERT_TRUE(pair.run_until([&] { return pair.holders() == 1; }, 6s));
  pair.run_for(3s);
  EXPECT_EQ(pair.holders(), 1);
  EXPECT_EQ(pair.max_holders_while_connected(), 1);
}

}  // namespace
}  // namespace isla::balancer::pair::testing
