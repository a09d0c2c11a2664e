// Least connections and power of two choices: the pickers that weigh load.
#include <gtest/gtest.h>

#include <memory>
#include <ostream>
#include <string>

#include "balancer/least_connections.hpp"
#include "balancer/picker_factory.hpp"
#include "balancer/power_of_two.hpp"
#include "fixtures.hpp"

namespace isla::balancer {
namespace {

constexpr int kSteps = 4000;
constexpr int kPerStep = 3;

double share(const std::map<BackendId, int>& counts, BackendId id) {
  int total = 0;
  for (const auto& [_, count] : counts) total += count;
  return static_cast<double>(counts.at(id)) / total;
}

void expect_even(const std::map<BackendId, int>& counts, const std::vector<BackendId>& ids,
                 double tolerance) {
  const double fair = 1.0 / static_cast<double>(ids.size());
  for (const auto id : ids) {
    EXPECT_NEAR(share(counts, id), fair, fair * tolerance) << "backend " << id;
  }
}

class LeastLoaded : public ::testing::Test {
 protected:
  // Four backends; the last one's requests last four times as long.
  void SetUp() override { ids_ = testing::add_backends(set_, 4); }

  testing::LoadResult even_load(Picker& picker, std::uint64_t seed) {
    return testing::simulate_load(
        picker, set_, kSteps, kPerStep, [](BackendId) { return 10; }, seed);
  }
  std::map<BackendId, int> load_with_a_slow_backend(Picker& picker, std::uint64_t seed) {
    const auto mean_steps = [this](BackendId id) { return id == ids_.back() ? 40 : 10; };
    return testing::simulate_load(picker, set_, kSteps, kPerStep, mean_steps, seed).picks;
  }

  BackendSet set_;
  std::vector<BackendId> ids_;
  core::SeededRandom random_{11};
};

TEST_F(LeastLoaded, LeastConnectionsPicksTheFewestInFlight) {
  LeastConnectionsPicker picker(set_, random_);
  for (int i = 0; i < 3; ++i) picker.request_started(ids_[0]);
  picker.request_started(ids_[1]);
  for (int i = 0; i < 2; ++i) picker.request_started(ids_[2]);
  for (int i = 0; i < 2; ++i) picker.request_started(ids_[3]);
  EXPECT_EQ(testing::count_picks(picker, 50), (std::map<BackendId, int>{{ids_[1], 50}}));
}

TEST_F(LeastLoaded, LeastConnectionsWeighsRequestsPerUnitOfWeight) {
  set_.set_weight(ids_[0], 2);
  for (int i = 0; i < 2; ++i) set_.request_started(ids_[0]);                   // (2+1)/2 = 1.5
  for (const auto id : {ids_[1], ids_[2], ids_[3]}) set_.request_started(id);  // (1+1)/1 = 2
  LeastConnectionsPicker picker(set_, random_);
  EXPECT_EQ(picker.pick(std::nullopt), ids_[0]);
}

TEST_F(LeastLoaded, LeastConnectionsBreaksTiesAtRandom) {
  LeastConnectionsPicker picker(set_, random_);
  // All idle, never started: every pick is a four-way tie.
  expect_even(testing::count_picks(picker, 4000), ids_, 0.15);
}

TEST_F(LeastLoaded, PowerOfTwoTakesTheLessLoadedOfTwoRandomBackends) {
  set_.remove(ids_[3]);
  for (int i = 0; i < 5; ++i) {
    set_.request_started(ids_[1]);
    set_.request_started(ids_[2]);
  }
  PowerOfTwoPicker picker(set_, random_);
  // The idle backend loses only when both draws are the two busy ones: one time in three.
  // Least connections would pick it every time, a random pick one time in three.
  const auto counts = testing::count_picks(picker, 3000);
  EXPECT_NEAR(share(counts, ids_[0]), 2.0 / 3.0, 0.05);
}

TEST_F(LeastLoaded, PowerOfTwoWithOneBackendLeftPicksIt) {
  set_.set_up(ids_[0], false);
  set_.set_up(ids_[1], false);
  set_.set_ejected(ids_[2], true);
  PowerOfTwoPicker picker(set_, random_);
  EXPECT_EQ(testing::count_picks(picker, 20), (std::map<BackendId, int>{{ids_[3], 20}}));
}

// Both load-aware pickers under the same simulated load, with what was measured for each.
struct UnderLoad {
  const char* name;
  Algorithm algorithm;
  int max_imbalance;  // bound on the in-flight gap between backends
  double slow_share;  // bound on the slow backend's share of the requests

  friend void PrintTo(const UnderLoad& load, std::ostream* out) { *out << load.name; }
};

class LoadAware : public LeastLoaded, public ::testing::WithParamInterface<UnderLoad> {
 protected:
  std::unique_ptr<Picker> picker() { return make_picker(GetParam().algorithm, set_, random_); }
};

TEST_P(LoadAware, SpreadsEvenlyUnderUnevenDurations) {
  const auto picker = this->picker();
  const auto load = even_load(*picker, 1);
  expect_even(load.picks, ids_, 0.10);
  EXPECT_LE(load.max_imbalance, GetParam().max_imbalance);
}

TEST_P(LoadAware, SendsLessToASlowBackend) {
  const auto picker = this->picker();
  const auto counts = load_with_a_slow_backend(*picker, 2);
  EXPECT_LT(share(counts, ids_.back()), GetParam().slow_share);
  std::map<BackendId, int> fast = counts;
  fast.erase(ids_.back());
  expect_even(fast, {ids_[0], ids_[1], ids_[2]}, 0.10);  // the rest share it evenly
}

// Measured here: least connections, gap 3 and slow share 0.083; power of two, gap 8 and
// 0.091. Round robin gives the slow backend 1/4 of the requests (in proportion to speed
// would be about 1/13). Over 30 seeds the gap reached 4 for least connections, 10 for power
// of two and 8 to 10 for round robin: the gap bound tells least connections from a blind
// pick, but only bounds power of two, which the slow backend's share tells apart.
INSTANTIATE_TEST_SUITE_P(
    Pickers, LoadAware,
    ::testing::Values(UnderLoad{"LeastConnections", Algorithm::least_connections, 5, 0.25 * 0.5},
                      UnderLoad{"PowerOfTwo", Algorithm::power_of_two, 12, 0.25 * 0.75}),
    [](const auto& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace isla::balancer
