// Islands of failure detectors on the simulated network: what issue 11 asks of them as a
// whole. Each test is deterministic; the ones about loss run several seeds.
#include <gtest/gtest.h>

#include <algorithm>

#include "support/swim_island.hpp"

namespace isla::testing {
namespace {

using namespace std::chrono_literals;
using membership::DatagramType;
using membership::MemberState;

SwimIsland::Options island(std::uint64_t seed, double loss = 0.0) {
  SwimIsland::Options options;
  options.seed = seed;
  options.faults.loss = loss;
  return options;
}

std::size_t events_about(const SwimIsland& island, std::size_t subject, MemberState to) {
  const auto address = SwimIsland::address_of(subject);
  return static_cast<std::size_t>(std::count_if(
      island.events().begin(), island.events().end(),
      [&](const auto& seen) { return seen.event.address == address && seen.event.to == to; }));
}

TEST(SwimIsland, FiveGatewaysFromTheirSeedsConvergeToAllAlive) {
  SwimIsland sim(island(1));
  const auto took = sim.run_until([&] { return sim.converged(); }, 5s);
  ASSERT_TRUE(took) << "not converged after 5 s";
  EXPECT_LE(*took, 1s);
  sim.run_for(10s);
  EXPECT_TRUE(sim.converged());
  EXPECT_EQ(sim.suspicions(), 0u) << "nothing lost, nothing slow: no reason to suspect anyone";
  EXPECT_EQ(sim.datagrams_rejected(), 0u);
  EXPECT_EQ(sim.datagrams_too_large(), 0u);
}

TEST(SwimIsland, AKilledGatewayIsDeclaredDeadByEveryoneWithinASecond) {
  for (std::uint64_t seed = 1; seed <= 20; ++seed) {
    SwimIsland sim(island(seed));
    ASSERT_TRUE(sim.run_until([&] { return sim.converged(); }, 5s));
    sim.run_for(std::chrono::milliseconds(500 + 37 * seed));  // a different phase each seed
    const std::size_t victim = seed % sim.size();
    sim.crash(victim);
    const auto took =
        sim.run_until([&] { return sim.everyone_sees(victim, MemberState::dead); }, 10s);
    ASSERT_TRUE(took) << "seed " << seed << ": not everyone saw the crash within 10 s";
    // The goal is 1 s at p99 (bench/swim_sim measures it); a generous bound here.
    EXPECT_LE(*took, 2s) << "seed " << seed;
    EXPECT_EQ(sim.false_deaths(), 0u) << "seed " << seed;
    // Lifeguard: every relay nacked, so nobody blamed itself for the failed probes.
    for (std::size_t i = 0; i < sim.size(); ++i) {
      if (i == victim) continue;
      EXPECT_EQ(sim.node(i).local_health(), 0) << "seed " << seed << " node " << i;
    }
  }
}

TEST(SwimIsland, AGatewayThatSaysByeIsSeenAsLeftAtOnceAndNeverAsDead) {
  SwimIsland sim(island(3));
  ASSERT_TRUE(sim.run_until([&] { return sim.converged(); }, 5s));
  sim.leave(2);
  const auto took = sim.run_until([&] { return sim.everyone_sees(2, MemberState::left); }, 1s);
  ASSERT_TRUE(took);
  EXPECT_LE(*took, 30ms) << "one datagram's delay, not a failure detection";
  sim.run_for(5s);
  EXPECT_TRUE(sim.everyone_sees(2, MemberState::left));
  EXPECT_EQ(events_about(sim, 2, MemberState::dead), 0u);
  EXPECT_EQ(events_about(sim, 2, MemberState::suspect), 0u);
}

TEST(SwimIsland, ASuspectedLiveGatewayRefutesAndNobodyDeclaresItDead) {
  SwimIsland sim(island(4));
  ASSERT_TRUE(sim.run_until([&] { return sim.converged(); }, 5s));
  const auto before = sim.node(2).incarnation();
  // Node 1 tells node 0 that it suspects node 2 (a false alarm: 2 is fine).
  membership::Datagram rumour;
  rumour.type = DatagramType::heartbeat;
  rumour.node = SwimIsland::address_of(1);
  rumour.incarnation = sim.node(1).incarnation();
  rumour.seq = 1'000'000;
  rumour.gossip.push_back(
      {SwimIsland::address_of(2), MemberState::suspect, before, SwimIsland::address_of(1), {}});
  sim.inject(0, rumour);
  sim.run_for(10ms);
  EXPECT_EQ(sim.view(0, 2), MemberState::suspect);
  sim.run_for(5s);
  EXPECT_GT(sim.node(2).incarnation(), before) << "it refuted";
  EXPECT_TRUE(sim.everyone_sees(2, MemberState::alive));
  EXPECT_EQ(sim.false_deaths(), 0u);
  EXPECT_GE(events_about(sim, 2, MemberState::suspect), 1u);
}

// Issue 11's second goal. It holds because a missed direct ack is retried through relays
// (without them, ~20 % of probes fail at this loss instead of <1 %) and because a suspected
// member refutes: remove either and members die here.
TEST(SwimIsland, AtTenPercentLossNobodyIsDeclaredDeadInAMinute) {
  for (std::uint64_t seed = 1; seed <= 8; ++seed) {
    SwimIsland sim(island(seed, 0.10));
    sim.run_for(60s);
    EXPECT_EQ(sim.false_deaths(), 0u) << "seed " << seed;
    EXPECT_TRUE(sim.converged()) << "seed " << seed;
    // ~80 suspicion events a minute (each seen by every node) with relays; ~950 without.
    EXPECT_LT(sim.suspicions(), 300u) << "seed " << seed;
  }
}

TEST(SwimIsland, DuplicatedAndReorderedDatagramsChangeNothing) {
  auto options = island(6, 0.05);
  options.faults.duplicate = 0.3;
  SwimIsland sim(options);
  sim.run_for(30s);
  EXPECT_EQ(sim.false_deaths(), 0u);
  EXPECT_TRUE(sim.converged());
  sim.crash(4);
  EXPECT_TRUE(sim.run_until([&] { return sim.everyone_sees(4, MemberState::dead); }, 3s));
}

TEST(SwimIsland, OldNewsCannotResurrectTheDeadButARestartRejoins) {
  auto options = island(7);
  options.faults.duplicate = 0.5;
  SwimIsland sim(options);
  ASSERT_TRUE(sim.run_until([&] { return sim.converged(); }, 5s));
  const auto incarnation = sim.node(4).incarnation();
  sim.crash(4);
  ASSERT_TRUE(sim.run_until([&] { return sim.everyone_sees(4, MemberState::dead); }, 3s));

  // What a late, duplicated, reordered network could still deliver: alive gossip and the dead
  // node's own datagrams, all at the incarnation it died with.
  for (std::size_t to = 0; to < 4; ++to) {
    membership::Datagram late;
    late.type = DatagramType::ping;
    late.node = SwimIsland::address_of(4);
    late.incarnation = incarnation;
    late.probe = 12345;
    sim.inject(to, late);
    membership::Datagram echo;
    echo.type = DatagramType::heartbeat;
    echo.node = SwimIsland::address_of((to + 1) % 4);
    echo.incarnation = sim.node((to + 1) % 4).incarnation();
    echo.gossip.push_back({SwimIsland::address_of(4), MemberState::alive, incarnation, {}, {}});
    sim.inject(to, echo);
  }
  sim.run_for(3s);
  EXPECT_TRUE(sim.everyone_sees(4, MemberState::dead));

  sim.restart(4);
  const auto took = sim.run_until([&] { return sim.converged(); }, 5s);
  ASSERT_TRUE(took) << "the restarted gateway did not rejoin";
  EXPECT_LE(*took, 1s);
  EXPECT_GT(sim.node(0).member(SwimIsland::address_of(4))->incarnation, incarnation);
}

TEST(SwimIsland, PingReqCarriesTheAckWhenTheDirectPathIsCut) {
  SwimIsland sim(island(8));
  ASSERT_TRUE(sim.run_until([&] { return sim.converged(); }, 5s));
  sim.cut(0, 1);
  sim.cut(1, 0);
  sim.run_for(30s);
  EXPECT_EQ(events_about(sim, 1, MemberState::suspect), 0u);
  EXPECT_EQ(events_about(sim, 0, MemberState::suspect), 0u);
  EXPECT_TRUE(sim.converged());
}

TEST(SwimIsland, WithoutRelaysACutLinkIsSuspected) {  // what the test above relies on
  auto options = island(8);
  options.swim.indirect_probes = 0;
  SwimIsland sim(options);
  ASSERT_TRUE(sim.run_until([&] { return sim.converged(); }, 5s));
  sim.cut(0, 1);
  sim.cut(1, 0);
  sim.run_for(30s);
  EXPECT_GT(events_about(sim, 1, MemberState::suspect), 0u);
}

TEST(SwimIsland, LocalHealthGrowsWhileOurAcksAreLostAndRecoversAfter) {
  SwimIsland sim(island(9));
  ASSERT_TRUE(sim.run_until([&] { return sim.converged(); }, 5s));
  EXPECT_EQ(sim.node(0).local_health(), 0);
  sim.isolate_inbound(0);
  sim.run_for(3s);
  EXPECT_GE(sim.node(0).local_health(), 3);
  sim.heal();
  // Node 0 is dead to the others too by now; the partition heals through reconnect pings.
  ASSERT_TRUE(sim.run_until([&] { return sim.converged(); }, 10s));
  ASSERT_TRUE(sim.run_until([&] { return sim.node(0).local_health() == 0; }, 10s));
}

TEST(SwimIsland, APartitionedIslandMergesOnceHealed) {
  SwimIsland sim(island(10));
  ASSERT_TRUE(sim.run_until([&] { return sim.converged(); }, 5s));
  sim.partition({0, 1});
  sim.run_for(5s);
  EXPECT_EQ(sim.view(0, 3), MemberState::dead);
  EXPECT_EQ(sim.view(3, 0), MemberState::dead);
  EXPECT_EQ(sim.view(0, 1), MemberState::alive);
  sim.heal();
  const auto took = sim.run_until([&] { return sim.converged(); }, 20s);
  ASSERT_TRUE(took) << "still split 20 s after the partition healed";
}

TEST(SwimIsland, LoadTravelsWithTheFailureDetectorsDatagrams) {
  SwimIsland sim(island(11));
  ASSERT_TRUE(sim.run_until([&] { return sim.converged(); }, 5s));
  const membership::Load load{42, 1000, 15, 120, 250};
  sim.node(3).set_local_load(load);
  sim.node(3).set_draining(true);
  // Everyone probes node 3 once per round (4 probe intervals here).
  sim.run_for(1s);
  for (std::size_t i = 0; i < sim.size(); ++i) {
    if (i == 3) continue;
    auto member = sim.node(i).member(SwimIsland::address_of(3));
    ASSERT_TRUE(member);
    EXPECT_EQ(member->load, load) << "node " << i;
    EXPECT_TRUE(member->draining) << "node " << i;
    EXPECT_GE(member->last_contact, sim.now() - 1s);
  }
}

}  // namespace
}  // namespace isla::testing
