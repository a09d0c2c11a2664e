#include "balancer/round_robin.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>

#include "fixtures.hpp"

namespace isla::balancer {
namespace {

// The first `count` picks as letters: the first backend is 'a'.
std::string sequence(Picker& picker, const std::vector<BackendId>& ids, int count) {
  std::string out;
  for (int i = 0; i < count; ++i) {
    const auto id = picker.pick(std::nullopt);
    out += id ? static_cast<char>('a' + (std::ranges::find(ids, *id) - ids.begin())) : '-';
  }
  return out;
}

TEST(RoundRobin, EqualWeightsTakeTurnsInOrderExactly) {
  BackendSet set;
  const auto ids = testing::add_backends(set, 3);
  RoundRobinPicker picker(set);
  EXPECT_EQ(sequence(picker, ids, 9), "abcabcabc");
  const auto counts = testing::count_picks(picker, 3000);
  for (const auto id : ids) EXPECT_EQ(counts.at(id), 1000);
}

TEST(RoundRobin, HeavyBackendsTurnsAreSpreadOutAsNginxDoes) {
  BackendSet set;
  const auto ids = testing::add_backends(set, {5, 1, 1});
  RoundRobinPicker picker(set);
  EXPECT_EQ(sequence(picker, ids, 14), "aabacaaaabacaa");
}

TEST(RoundRobin, WeightsGiveExactProportionsOverEachCycle) {
  BackendSet set;
  const auto ids = testing::add_backends(set, {3, 2, 1});
  RoundRobinPicker picker(set);
  const auto counts = testing::count_picks(picker, 600);
  EXPECT_EQ(counts.at(ids[0]), 300);
  EXPECT_EQ(counts.at(ids[1]), 200);
  EXPECT_EQ(counts.at(ids[2]), 100);
}

TEST(RoundRobin, ADownBackendsTurnsGoToTheOthers) {
  BackendSet set;
  const auto ids = testing::add_backends(set, 3);
  RoundRobinPicker picker(set);
  set.set_up(ids[1], false);
  EXPECT_EQ(sequence(picker, ids, 6), "acacac");
  set.set_up(ids[1], true);
  const auto counts = testing::count_picks(picker, 300);
  for (const auto id : ids) EXPECT_EQ(counts.at(id), 100);
}

TEST(RoundRobin, AWeightChangeTakesEffectAtOnce) {
  BackendSet set;
  const auto ids = testing::add_backends(set, 2);
  RoundRobinPicker picker(set);
  testing::count_picks(picker, 3);
  set.set_weight(ids[1], 3);
  const auto counts = testing::count_picks(picker, 400);
  EXPECT_EQ(counts.at(ids[0]), 100);
  EXPECT_EQ(counts.at(ids[1]), 300);
}

}  // namespace
}  // namespace isla::balancer
