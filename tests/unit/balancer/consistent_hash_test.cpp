#include "balancer/consistent_hash.hpp"

#include <gtest/gtest.h>

#include <string>

#include "core/stable_hash.hpp"
#include "fixtures.hpp"

namespace isla::balancer {
namespace {

constexpr int kKeys = 20000;
constexpr int kBackends = 10;

std::string key(int n) {
  return "session-" + std::to_string(n);
}

// Key number → the endpoint it lands on (endpoints, not ids: they compare across sets).
std::vector<core::Endpoint> placement(const BackendSet& set, Picker& picker) {
  std::vector<core::Endpoint> out;
  for (int n = 0; n < kKeys; ++n) out.push_back(set.find(picker.pick(key(n)).value())->endpoint);
  return out;
}

struct Move {
  core::Endpoint from;
  core::Endpoint to;
};

std::vector<Move> moves(const std::vector<core::Endpoint>& before,
                        const std::vector<core::Endpoint>& after) {
  std::vector<Move> out;
  for (std::size_t n = 0; n < before.size(); ++n) {
    if (before[n] != after[n]) out.push_back({before[n], after[n]});
  }
  return out;
}

// About 1/backends of the keys moved: within [0.5, 1.6] of it.
void expect_about_one_in(std::size_t moved, int backends) {
  const double fraction = static_cast<double>(moved) / kKeys;
  EXPECT_GE(fraction, 0.5 / backends);
  EXPECT_LE(fraction, 1.6 / backends);
}

class ConsistentHash : public ::testing::Test {
 protected:
  void SetUp() override { ids_ = testing::add_backends(set_, kBackends); }

  BackendSet set_;
  std::vector<BackendId> ids_;
  core::SeededRandom random_{5};
  ConsistentHashPicker picker_{set_, random_};
};

TEST_F(ConsistentHash, KeysSpreadEvenlyEnough) {
  std::map<core::Endpoint, int> counts;
  for (const auto& endpoint : placement(set_, picker_)) ++counts[endpoint];
  ASSERT_EQ(counts.size(), static_cast<std::size_t>(kBackends));
  for (const auto& [endpoint, count] : counts) {
    EXPECT_NEAR(count, kKeys / kBackends, 0.3 * kKeys / kBackends) << endpoint.str();
  }
}

TEST_F(ConsistentHash, ABackendLeavingMovesOnlyItsKeysAboutOneInN) {
  const auto before = placement(set_, picker_);
  const core::Endpoint leaving = set_.find(ids_[3])->endpoint;
  set_.remove(ids_[3]);
  const auto moved = moves(before, placement(set_, picker_));
  for (const auto& move : moved) EXPECT_EQ(move.from, leaving) << "a key moved off a stayer";
  expect_about_one_in(moved.size(), kBackends);
}

TEST_F(ConsistentHash, ABackendJoiningTakesAboutOneInNAndOnlyForItself) {
  const auto before = placement(set_, picker_);
  const core::Endpoint joining = testing::endpoint(kBackends + 1);
  set_.add(joining);
  const auto moved = moves(before, placement(set_, picker_));
  for (const auto& move : moved) EXPECT_EQ(move.to, joining) << "a key moved between stayers";
  expect_about_one_in(moved.size(), kBackends + 1);
}

TEST_F(ConsistentHash, ADownBackendsKeysGoToTheNextOnTheRingAndComeBack) {
  const auto before = placement(set_, picker_);
  set_.set_up(ids_[6], false);
  const auto during = placement(set_, picker_);
  // The next backend clockwise is where the keys would go were it gone altogether.
  BackendSet without;
  testing::add_backends(without, kBackends);
  without.remove(*without.find(set_.find(ids_[6])->endpoint));
  ConsistentHashPicker reference(without, random_);
  EXPECT_EQ(during, placement(without, reference));
  set_.set_up(ids_[6], true);
  EXPECT_EQ(placement(set_, picker_), before);
}

TEST_F(ConsistentHash, TwoBalancersWithTheSameBackendsAgree) {
  // Added in another order, so the ids differ: the ring must not depend on them.
  BackendSet other;
  for (int n = kBackends; n >= 1; --n) other.add(testing::endpoint(n));
  core::SeededRandom other_random(99);
  ConsistentHashPicker other_picker(other, other_random);
  EXPECT_EQ(placement(set_, picker_), placement(other, other_picker));
}

TEST_F(ConsistentHash, WeightsSetTheShareOfKeys) {
  set_.set_weight(ids_[0], 4);
  std::map<core::Endpoint, int> counts;
  for (const auto& endpoint : placement(set_, picker_)) ++counts[endpoint];
  const double expected = 4.0 / (kBackends + 3);
  EXPECT_NEAR(static_cast<double>(counts[testing::endpoint(1)]) / kKeys, expected, 0.3 * expected);
}

TEST_F(ConsistentHash, RequestsWithoutAKeySpreadOverAll) {
  const auto counts = testing::count_picks(picker_, 10000);
  ASSERT_EQ(counts.size(), static_cast<std::size_t>(kBackends));
  for (const auto& [id, count] : counts) EXPECT_NEAR(count, 1000, 300) << id;
}

TEST_F(ConsistentHash, TheInjectedHashPlacesKeys) {
  // A hash that sends every key to point 0 puts them all on the backend owning point 0.
  ConsistentHashOptions options;
  options.hash = [](std::string_view text) {
    return text.starts_with("session-") ? 0 : core::spread_hash(text);
  };
  ConsistentHashPicker picker(set_, random_, options);
  std::map<core::Endpoint, int> counts;
  for (const auto& endpoint : placement(set_, picker)) ++counts[endpoint];
  EXPECT_EQ(counts.size(), 1u);
}

}  // namespace
}  // namespace isla::balancer
