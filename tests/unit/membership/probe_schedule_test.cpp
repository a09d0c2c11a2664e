#include "membership/probe_schedule.hpp"

#include <gtest/gtest.h>

#include <map>
#include <set>

namespace isla::membership {
namespace {

const auto kAny = [](const std::string&) { return true; };

TEST(ProbeSchedule, ProbesEveryMemberOncePerRoundInAShuffledOrder) {
  core::SeededRandom random(7);
  ProbeSchedule schedule(random);
  for (int i = 0; i < 6; ++i) schedule.add("m" + std::to_string(i));
  std::set<std::vector<std::string>> orders;
  for (int round = 0; round < 10; ++round) {
    std::vector<std::string> order;
    for (int i = 0; i < 6; ++i) order.push_back(*schedule.next(kAny));
    EXPECT_EQ(std::set<std::string>(order.begin(), order.end()).size(), 6u)
        << "someone was probed twice in a round";
    orders.insert(order);
  }
  EXPECT_GT(orders.size(), 1u) << "every round in the same order";
}

TEST(ProbeSchedule, SkipsIneligibleMembersAndProbesSuspectsFirst) {
  core::SeededRandom random(7);
  ProbeSchedule schedule(random);
  for (const char* name : {"a", "b", "c"}) schedule.add(name);
  const auto not_b = [](const std::string& member) { return member != "b"; };
  for (int i = 0; i < 10; ++i) EXPECT_NE(*schedule.next(not_b), "b");
  schedule.probe_soon("b");
  EXPECT_EQ(*schedule.next(kAny), "b");
  EXPECT_FALSE(schedule.next([](const std::string&) { return false; }));
  schedule.remove("b");
  for (int i = 0; i < 10; ++i) EXPECT_NE(*schedule.next(kAny), "b");
}

TEST(ProbeSchedule, ANewMemberIsProbedWithinTheCurrentRound) {
  core::SeededRandom random(3);
  ProbeSchedule schedule(random);
  for (int i = 0; i < 8; ++i) schedule.add("m" + std::to_string(i));
  std::map<std::size_t, int> positions;
  for (int trial = 0; trial < 40; ++trial) {
    (void)schedule.next(kAny);  // one into a round
    const auto name = "new" + std::to_string(trial);
    schedule.add(name);
    std::size_t at = 0;
    for (std::size_t i = 0; i < schedule.size() && at == 0; ++i) {
      if (*schedule.next(kAny) == name) at = i + 1;
    }
    ASSERT_NE(at, 0u) << "not probed within the round";
    ++positions[at];
    schedule.remove(name);
  }
  EXPECT_GT(positions.size(), 2u) << "always at the same place in the round";
}

}  // namespace
}  // namespace isla::membership
