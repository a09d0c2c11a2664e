// One failure detector fed hand-made datagrams: the protocol's rules, one at a time. The
// island-wide behaviour (detection, refutation, loss) is in swim_island_test.cpp.
#include "membership/swim.hpp"

#include <gtest/gtest.h>

#include <algorithm>

namespace isla::membership {
namespace {

using namespace std::chrono_literals;

const auto kStart = core::SteadyTime{} + 1h;
const std::string kSelf = "127.0.1.1:5235";
constexpr std::uint64_t kOurIncarnation = 1000;

std::string peer(int i) {
  return "127.0.1." + std::to_string(i) + ":5235";
}

Datagram from(const std::string& node, DatagramType type, std::uint64_t incarnation = 100,
              std::uint64_t probe = 0) {
  Datagram datagram;
  datagram.type = type;
  datagram.node = node;
  datagram.role = "gateway";
  datagram.island = "local";
  datagram.incarnation = incarnation;
  datagram.probe = probe;
  return datagram;
}

std::vector<Outgoing> sent(const std::vector<Outgoing>& outgoing, DatagramType type) {
  std::vector<Outgoing> out;
  std::copy_if(outgoing.begin(), outgoing.end(), std::back_inserter(out),
               [&](const Outgoing& o) { return o.datagram.type == type; });
  return out;
}

bool carries(const Outgoing& out, const std::string& node, MemberState state) {
  return std::any_of(
      out.datagram.gossip.begin(), out.datagram.gossip.end(),
      [&](const GossipEntry& entry) { return entry.node == node && entry.state == state; });
}

class SwimTest : public ::testing::Test {
 protected:
  explicit SwimTest(SwimOptions options = {}) : swim(kSelf, kOurIncarnation, options, random) {}

  // Members 2..n+1 introduce themselves with a heartbeat.
  void meet(int n, std::uint64_t incarnation = 100) {
    for (int i = 2; i < 2 + n; ++i) {
      (void)swim.on_datagram(from(peer(i), DatagramType::heartbeat, incarnation), kStart);
    }
    (void)swim.take_events();
  }

  MemberState state_of(const std::string& address) { return swim.member(address)->state; }

  std::vector<Outgoing> gossip(const std::string& sender, GossipEntry entry,
                               core::SteadyTime at = kStart) {
    auto datagram = from(sender, DatagramType::heartbeat);
    datagram.gossip.push_back(std::move(entry));
    return swim.on_datagram(datagram, at);
  }

  core::SeededRandom random{42};
  Swim swim;
};

TEST_F(SwimTest, IgnoresDatagramsThatClaimToComeFromItself) {
  EXPECT_TRUE(swim.on_datagram(from(kSelf, DatagramType::ping, 5, 1), kStart).empty());
  EXPECT_TRUE(swim.members().empty());
}

TEST_F(SwimTest, AnswersAPingWithAnAckCarryingItsIncarnationAndLoad) {
  swim.set_local_load({3, 100, 4, 25, 150});
  swim.set_draining(true);
  auto out = swim.on_datagram(from(peer(2), DatagramType::ping, 100, 42), kStart);
  auto acks = sent(out, DatagramType::ack);
  ASSERT_EQ(acks.size(), 1u);
  EXPECT_EQ(acks[0].to, peer(2));
  EXPECT_EQ(acks[0].datagram.probe, 42u);
  EXPECT_EQ(acks[0].datagram.node, kSelf);
  EXPECT_EQ(acks[0].datagram.incarnation, kOurIncarnation);
  EXPECT_EQ(acks[0].datagram.load, (Load{3, 100, 4, 25, 150}));
  EXPECT_TRUE(acks[0].datagram.draining);
  EXPECT_TRUE(acks[0].datagram.target.empty());

  auto member = swim.member(peer(2));
  ASSERT_TRUE(member) << "whoever speaks to us joins";
  EXPECT_EQ(member->state, MemberState::alive);
  EXPECT_EQ(member->incarnation, 100u);
  EXPECT_EQ(member->last_contact, kStart);
  auto events = swim.take_events();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_STREQ(events[0].reason, "joined");
  EXPECT_FALSE(events[0].from);
}

TEST_F(SwimTest, ANewMemberIsToldWhoElseIsInTheIsland) {
  meet(3);
  auto out = swim.on_datagram(from(peer(9), DatagramType::ping, 100, 1), kStart);
  std::set<std::string> told;
  for (const auto& o : out) {
    if (o.to != peer(9)) continue;
    for (const auto& entry : o.datagram.gossip) told.insert(entry.node);
  }
  EXPECT_EQ(told, (std::set<std::string>{peer(2), peer(3), peer(4)}));
}

TEST_F(SwimTest, LoadAndDrainingFollowTheMembersOwnDatagrams) {
  meet(1);
  auto beat = from(peer(2), DatagramType::heartbeat);
  beat.load = {7, 8, 9, 10, 11};
  beat.draining = true;
  (void)swim.on_datagram(beat, kStart + 1s);
  auto member = *swim.member(peer(2));
  EXPECT_EQ(member.load, (Load{7, 8, 9, 10, 11}));
  EXPECT_TRUE(member.draining);
  EXPECT_EQ(member.last_contact, kStart + 1s);
}

TEST_F(SwimTest, GossipThatWeAreSuspectOrDeadIsRefutedWithAHigherIncarnation) {
  meet(2);
  auto out = gossip(peer(2), {kSelf, MemberState::dead, kOurIncarnation, {}, std::nullopt});
  EXPECT_EQ(swim.incarnation(), kOurIncarnation + 1);
  EXPECT_EQ(swim.local_health(), 1) << "being accused hints that we are the slow one";
  // Everyone is told at once, by a heartbeat saying we are alive at the new incarnation.
  auto beats = sent(out, DatagramType::heartbeat);
  std::set<std::string> told;
  for (const auto& o : beats) {
    EXPECT_EQ(o.datagram.incarnation, kOurIncarnation + 1);
    if (carries(o, kSelf, MemberState::alive)) told.insert(o.to);
  }
  EXPECT_EQ(told, (std::set<std::string>{peer(2), peer(3)}));

  (void)gossip(peer(3), {kSelf, MemberState::suspect, kOurIncarnation + 1, peer(3), std::nullopt});
  EXPECT_EQ(swim.incarnation(), kOurIncarnation + 2);
  (void)gossip(peer(3), {kSelf, MemberState::left, kOurIncarnation + 2, {}, std::nullopt});
  EXPECT_EQ(swim.incarnation(), kOurIncarnation + 3) << "we have not left";

  // News older than our incarnation was refuted already.
  auto stale = gossip(peer(2), {kSelf, MemberState::dead, kOurIncarnation, {}, std::nullopt});
  EXPECT_EQ(swim.incarnation(), kOurIncarnation + 3);
  EXPECT_TRUE(sent(stale, DatagramType::heartbeat).empty());
}

// SWIM's precedence: alive(i) < suspect(i) < dead(i) < alive(i+1).
TEST_F(SwimTest, UpdatesFollowSwimPrecedence) {
  meet(2);
  const auto x = peer(2);
  (void)gossip(peer(3), {x, MemberState::suspect, 100, peer(3), std::nullopt});
  EXPECT_EQ(state_of(x), MemberState::suspect);
  (void)gossip(peer(3), {x, MemberState::alive, 100, {}, std::nullopt});
  EXPECT_EQ(state_of(x), MemberState::suspect) << "alive at the same incarnation is no refutation";
  (void)swim.on_datagram(from(x, DatagramType::heartbeat, 100), kStart);
  EXPECT_EQ(state_of(x), MemberState::suspect) << "nor is its own datagram at that incarnation";
  (void)gossip(peer(3), {x, MemberState::alive, 101, {}, std::nullopt});
  EXPECT_EQ(state_of(x), MemberState::alive);
  EXPECT_EQ(swim.member(x)->incarnation, 101u);
  (void)gossip(peer(3), {x, MemberState::suspect, 100, peer(3), std::nullopt});
  EXPECT_EQ(state_of(x), MemberState::alive) << "a suspicion older than the refutation";
  (void)gossip(peer(3), {x, MemberState::dead, 101, {}, std::nullopt});
  EXPECT_EQ(state_of(x), MemberState::dead) << "dead overrides alive at the same incarnation";
  (void)gossip(peer(3), {x, MemberState::suspect, 101, peer(3), std::nullopt});
  (void)gossip(peer(3), {x, MemberState::alive, 101, {}, std::nullopt});
  (void)swim.on_datagram(from(x, DatagramType::ping, 101, 5), kStart);
  EXPECT_EQ(state_of(x), MemberState::dead) << "nothing at the incarnation it died with revives it";
  (void)gossip(peer(3), {x, MemberState::alive, 102, {}, std::nullopt});
  EXPECT_EQ(state_of(x), MemberState::alive) << "a restart (higher incarnation) rejoins";

  std::vector<std::string> reasons;
  for (const auto& event : swim.take_events()) reasons.push_back(event.reason);
  EXPECT_EQ(reasons, (std::vector<std::string>{"suspected", "refuted", "died", "rejoined"}));
}

TEST_F(SwimTest, AByeIsALeaveAndStaleDatagramsDoNotBringTheMemberBack) {
  meet(2);
  (void)swim.on_datagram(from(peer(2), DatagramType::bye, 100), kStart);
  EXPECT_EQ(state_of(peer(2)), MemberState::left);
  // A heartbeat sent before the bye, delivered after it.
  (void)swim.on_datagram(from(peer(2), DatagramType::heartbeat, 100), kStart);
  EXPECT_EQ(state_of(peer(2)), MemberState::left);
  (void)gossip(peer(3), {peer(2), MemberState::dead, 100, {}, std::nullopt});
  EXPECT_EQ(state_of(peer(2)), MemberState::left);
  auto events = swim.take_events();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_STREQ(events[0].reason, "left");
}

TEST_F(SwimTest, DepartedMembersAreRememberedForTheRetentionThenForgotten) {
  meet(2);
  (void)gossip(peer(3), {peer(2), MemberState::dead, 100, {}, std::nullopt});
  (void)swim.tick(kStart + 29s);
  ASSERT_TRUE(swim.member(peer(2)));
  (void)swim.tick(kStart + 30s);
  EXPECT_FALSE(swim.member(peer(2)));
  EXPECT_TRUE(swim.member(peer(3)));
}

TEST_F(SwimTest, UnknownMembersAreNotSuspectedOrBuriedByHearsay) {
  (void)gossip(peer(3), {peer(7), MemberState::suspect, 1, peer(3), std::nullopt});
  (void)gossip(peer(3), {peer(8), MemberState::dead, 1, {}, std::nullopt});
  EXPECT_FALSE(swim.member(peer(7)));
  EXPECT_FALSE(swim.member(peer(8)));
}

class SmallSwimTest : public SwimTest {
 protected:
  static SwimOptions small() {
    SwimOptions options;
    options.max_members = 16;
    options.max_relays = 4;
    options.max_events = 8;
    return options;
  }
  SmallSwimTest() : SwimTest(small()) {}
};

TEST_F(SmallSwimTest, WhatOthersCanMakeItHoldIsBounded) {
  for (int i = 0; i < 100; ++i) {
    auto datagram = from("10.0.0." + std::to_string(i) + ":5235", DatagramType::heartbeat);
    for (int j = 0; j < 8; ++j) {
      datagram.gossip.push_back({"10.1." + std::to_string(i) + "." + std::to_string(j) + ":5235",
                                 MemberState::alive,
                                 1,
                                 {},
                                 std::nullopt});
    }
    (void)swim.on_datagram(datagram, kStart);
  }
  EXPECT_EQ(swim.members().size(), 16u);
  EXPECT_EQ(swim.take_events().size(), 8u) << "undrained events are bounded too";

  // ping_req floods: at most max_relays probes in flight on others' behalf.
  std::size_t pings = 0;
  ASSERT_TRUE(swim.member("10.0.0.0:5235"));
  for (int i = 0; i < 50; ++i) {
    auto request = from("10.0.0.1:5235", DatagramType::ping_req, 1, 1000 + i);
    request.target = "10.0.0.0:5235";
    pings += sent(swim.on_datagram(request, kStart), DatagramType::ping).size();
  }
  EXPECT_EQ(pings, 4u);
}

TEST_F(SwimTest, RelaysAPingReqAndItsAckOrNacksWhenTheTargetIsSilent) {
  meet(2);
  auto request = from(peer(2), DatagramType::ping_req, 100, 77);
  request.target = peer(3);
  auto pings = sent(swim.on_datagram(request, kStart), DatagramType::ping);
  ASSERT_EQ(pings.size(), 1u);
  EXPECT_EQ(pings[0].to, peer(3));
  const auto our_probe = pings[0].datagram.probe;

  auto relayed = sent(swim.on_datagram(from(peer(3), DatagramType::ack, 100, our_probe), kStart),
                      DatagramType::ack);
  ASSERT_EQ(relayed.size(), 1u);
  EXPECT_EQ(relayed[0].to, peer(2));
  EXPECT_EQ(relayed[0].datagram.probe, 77u);
  EXPECT_EQ(relayed[0].datagram.target, peer(3));

  // Again, but the target stays silent: a nack once our probe timeout has passed.
  request.probe = 78;
  (void)swim.on_datagram(request, kStart);
  auto nacks = sent(swim.tick(kStart + SwimOptions{}.probe_timeout), DatagramType::nack);
  ASSERT_EQ(nacks.size(), 1u);
  EXPECT_EQ(nacks[0].to, peer(2));
  EXPECT_EQ(nacks[0].datagram.probe, 78u);
  EXPECT_EQ(nacks[0].datagram.target, peer(3));
}

// The probe cycle against a target that never answers, relays that do or do not.
class ProbeCycleTest : public SwimTest {
 protected:
  struct Probed {
    std::string target;
    std::uint64_t probe;
    std::vector<std::string> relays;
  };

  Probed probe_until_relays_are_asked() {
    meet(3);
    auto pings = sent(swim.tick(kStart), DatagramType::ping);
    EXPECT_EQ(pings.size(), 1u);
    Probed probed{pings.at(0).to, pings.at(0).datagram.probe, {}};
    EXPECT_TRUE(sent(swim.tick(kStart + 20ms), DatagramType::ping_req).empty());
    for (const auto& request : sent(swim.tick(kStart + 30ms), DatagramType::ping_req)) {
      EXPECT_EQ(request.datagram.target, probed.target);
      EXPECT_EQ(request.datagram.probe, probed.probe);
      probed.relays.push_back(request.to);
    }
    EXPECT_EQ(probed.relays.size(), 2u) << "every other live member";
    return probed;
  }

  Datagram answer(const Probed& probed, const std::string& relay, DatagramType type) {
    auto datagram = from(relay, type, 100, probed.probe);
    datagram.target = probed.target;
    return datagram;
  }
};

TEST_F(ProbeCycleTest, ATargetThatNobodyHearsIsSuspectedAndItIsNotOurFault) {
  const auto probed = probe_until_relays_are_asked();
  for (const auto& relay : probed.relays) {
    (void)swim.on_datagram(answer(probed, relay, DatagramType::nack), kStart + 60ms);
  }
  EXPECT_EQ(state_of(probed.target), MemberState::alive);
  auto out = swim.tick(kStart + 100ms);
  EXPECT_EQ(state_of(probed.target), MemberState::suspect);
  EXPECT_EQ(swim.local_health(), 0) << "both relays answered: our network is fine";
  // The suspicion is sent at once to everyone, the suspect included.
  std::set<std::string> told;
  for (const auto& o : sent(out, DatagramType::heartbeat)) {
    if (carries(o, probed.target, MemberState::suspect)) told.insert(o.to);
  }
  EXPECT_EQ(told.size(), 3u);
}

TEST_F(ProbeCycleTest, SilentRelaysMeanTheTroubleIsOursAndStretchTheNextProbe) {
  const auto probed = probe_until_relays_are_asked();
  (void)swim.tick(kStart + 100ms);
  EXPECT_EQ(swim.local_health(), 2) << "neither relay even nacked";
  // The next probe began at 100 ms and now lasts three intervals.
  (void)swim.tick(kStart + 200ms);
  EXPECT_TRUE(sent(swim.tick(kStart + 399ms), DatagramType::ping).empty());
  EXPECT_EQ(sent(swim.tick(kStart + 400ms), DatagramType::ping).size(), 1u);
}

TEST_F(ProbeCycleTest, ARelayedAckSavesTheTargetAndImprovesOurHealth) {
  const auto first = probe_until_relays_are_asked();
  // The first probe fails (health 2, so the next one lasts three intervals); the next starts.
  auto pings = sent(swim.tick(kStart + 100ms), DatagramType::ping);
  ASSERT_EQ(pings.size(), 1u);
  Probed second{pings[0].to, pings[0].datagram.probe, {}};
  ASSERT_NE(second.target, first.target) << "round-robin";
  for (const auto& request : sent(swim.tick(kStart + 190ms), DatagramType::ping_req)) {
    second.relays.push_back(request.to);
  }
  ASSERT_EQ(second.relays.size(), 1u) << "the suspect is no relay";
  // An ack from someone who is not one of our relays counts for nothing.
  auto stranger = from(peer(9), DatagramType::ack, 100, second.probe);
  stranger.target = second.target;
  (void)swim.on_datagram(stranger, kStart + 200ms);
  EXPECT_EQ(swim.local_health(), 2);
  (void)swim.on_datagram(answer(second, second.relays[0], DatagramType::ack), kStart + 200ms);
  EXPECT_EQ(swim.local_health(), 1);
  (void)swim.tick(kStart + 400ms);
  EXPECT_EQ(state_of(second.target), MemberState::alive);
}

TEST_F(SwimTest, AMemberWeSuspectIsToldSoInEverythingWeSendIt) {
  meet(2);
  (void)gossip(peer(3), {peer(2), MemberState::suspect, 100, peer(3), std::nullopt});
  auto acks =
      sent(swim.on_datagram(from(peer(2), DatagramType::ping, 100, 9), kStart), DatagramType::ack);
  ASSERT_EQ(acks.size(), 1u);
  ASSERT_FALSE(acks[0].datagram.gossip.empty());
  EXPECT_EQ(acks[0].datagram.gossip[0].node, peer(2));
  EXPECT_EQ(acks[0].datagram.gossip[0].state, MemberState::suspect);
}

TEST_F(SwimTest, SeedsArePingedWithBackoffUntilTheyAnswer) {
  swim.add_seed(peer(2));
  swim.add_seed(kSelf);
  std::vector<core::SteadyTime> pinged;
  for (auto t = kStart; t < kStart + 10s; t += 10ms) {
    for (const auto& o : sent(swim.tick(t), DatagramType::ping)) {
      EXPECT_EQ(o.to, peer(2));
      pinged.push_back(t);
    }
  }
  ASSERT_GE(pinged.size(), 4u);
  EXPECT_LT(pinged.size(), 20u) << "backed off";
  EXPECT_GT(pinged.back() - pinged[pinged.size() - 2], pinged[1] - pinged[0]);
  (void)swim.on_datagram(from(peer(2), DatagramType::ack, 100, 1), kStart + 10s);
  EXPECT_EQ(state_of(peer(2)), MemberState::alive);
}

TEST_F(SwimTest, NextWakeupIsWhenSomethingIsDue) {
  meet(3);
  (void)swim.tick(kStart);
  EXPECT_EQ(swim.next_wakeup(), kStart + SwimOptions{}.probe_timeout);
  (void)swim.tick(swim.next_wakeup());
  EXPECT_EQ(swim.next_wakeup(), kStart + SwimOptions{}.probe_interval);
}

TEST_F(SwimTest, AfterLeavingItSaysByeToEveryoneAndThenNothing) {
  meet(3);
  auto out = swim.leave(kStart);
  EXPECT_EQ(sent(out, DatagramType::bye).size(), 3u);
  EXPECT_EQ(out.size(), 3u);
  EXPECT_TRUE(swim.tick(kStart + 1s).empty());
  EXPECT_TRUE(swim.on_datagram(from(peer(2), DatagramType::ping, 100, 1), kStart).empty());
}

}  // namespace
}  // namespace isla::membership
