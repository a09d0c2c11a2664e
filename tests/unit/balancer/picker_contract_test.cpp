// What every picker promises, whatever its algorithm: only pickable backends, none when there
// is none, and the request counts kept in the set.
#include <gtest/gtest.h>

#include <string>

#include "balancer/picker_factory.hpp"
#include "fixtures.hpp"

namespace isla::balancer {
namespace {

class PickerContract : public ::testing::TestWithParam<Algorithm> {
 protected:
  std::unique_ptr<Picker> picker() { return make_picker(GetParam(), set_, random_); }

  // Picks with and without keys, as the proxy would.
  std::map<BackendId, int> picks(Picker& picker, int count) {
    std::map<BackendId, int> counts;
    for (int i = 0; i < count; ++i) {
      const std::string key = "session-" + std::to_string(i);
      const auto id = i % 2 ? picker.pick(key) : picker.pick(std::nullopt);
      counts[id.value_or(0)]++;
    }
    return counts;
  }

  BackendSet set_;
  core::SeededRandom random_{7};
};

TEST_P(PickerContract, NoBackendsMeansNone) {
  auto picker = this->picker();
  EXPECT_EQ(picker->pick(std::nullopt), std::nullopt);
  EXPECT_EQ(picker->pick("key"), std::nullopt);
}

TEST_P(PickerContract, NoPickableBackendMeansNone) {
  auto picker = this->picker();
  const auto ids = testing::add_backends(set_, 3);
  set_.set_up(ids[0], false);
  set_.set_ejected(ids[1], true);
  set_.set_up(ids[2], false);
  EXPECT_EQ(picks(*picker, 100), (std::map<BackendId, int>{{0, 100}}));
}

TEST_P(PickerContract, DownAndEjectedBackendsAreNeverPicked) {
  auto picker = this->picker();
  const auto ids = testing::add_backends(set_, 5);
  EXPECT_EQ(picks(*picker, 2000).size(), 5u);  // all five take traffic while pickable
  set_.set_up(ids[1], false);
  set_.set_ejected(ids[3], true);
  const auto counts = picks(*picker, 2000);
  EXPECT_EQ(counts.count(ids[1]), 0u);
  EXPECT_EQ(counts.count(ids[3]), 0u);
  EXPECT_EQ(counts.count(0), 0u);
  EXPECT_EQ(counts.size(), 3u);
  // Back up: picked again.
  set_.set_up(ids[1], true);
  EXPECT_GT(picks(*picker, 2000)[ids[1]], 0);
}

TEST_P(PickerContract, FollowsBackendsAddedAndRemovedAtRunTime) {
  auto picker = this->picker();
  const auto ids = testing::add_backends(set_, 2);
  picks(*picker, 10);
  set_.remove(ids[0]);
  const auto late = set_.add(testing::endpoint(9));
  const auto counts = picks(*picker, 1000);
  EXPECT_EQ(counts.count(ids[0]), 0u);
  EXPECT_GT(counts.at(late), 0);
  EXPECT_GT(counts.at(ids[1]), 0);
}

TEST_P(PickerContract, KeepsTheSetsRequestCounts) {
  auto picker = this->picker();
  const auto id = testing::add_backends(set_, 1).front();
  picker->request_started(id);
  picker->request_started(id);
  EXPECT_EQ(set_.find(id)->active_requests, 2);
  picker->request_finished(id);
  EXPECT_EQ(set_.find(id)->active_requests, 1);
}

INSTANTIATE_TEST_SUITE_P(Algorithms, PickerContract,
                         ::testing::Values(Algorithm::round_robin, Algorithm::least_connections,
                                           Algorithm::power_of_two, Algorithm::consistent_hash),
                         [](const auto& info) {
                           switch (info.param) {
                             case Algorithm::round_robin:
                               return "RoundRobin";
                             case Algorithm::least_connections:
                               return "LeastConnections";
                             case Algorithm::power_of_two:
                               return "PowerOfTwo";
                             case Algorithm::consistent_hash:
                               return "ConsistentHash";
                           }
                           return "Unknown";
                         });

}  // namespace
}  // namespace isla::balancer
