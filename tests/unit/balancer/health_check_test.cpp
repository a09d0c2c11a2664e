#include "balancer/health_check.hpp"

#include <gtest/gtest.h>

#include <stdexcept>
#include <vector>

namespace isla::balancer {
namespace {

using namespace std::chrono_literals;
using enum HealthTransition;

const core::SteadyTime kStart = core::SteadyTime{} + 1h;

HealthCheckOptions options(InitialState initial, int fall = 3, int rise = 2) {
  return {.interval = 2s, .fall = fall, .rise = rise, .initial = initial};
}

// Feeds the results one a second and returns the transitions they caused.
std::vector<HealthTransition> feed(HealthCheck& check, const std::vector<bool>& results) {
  std::vector<HealthTransition> out;
  auto now = kStart;
  for (const bool passed : results) out.push_back(check.record(passed, now += 1s));
  return out;
}

TEST(HealthCheck, FullyUpGoesDownAfterFallFailuresInARow) {
  HealthCheck check(options(InitialState::fully_up), kStart);
  EXPECT_TRUE(check.up());
  EXPECT_EQ(feed(check, {false, false}), (std::vector{none, none}));
  EXPECT_TRUE(check.up());
  EXPECT_EQ(check.streak(), 2);
  EXPECT_EQ(feed(check, {false, false}), (std::vector{went_down, none}));
  EXPECT_FALSE(check.up());
}

TEST(HealthCheck, FullyDownComesUpAfterRisePassesInARow) {
  HealthCheck check(options(InitialState::fully_down), kStart);
  EXPECT_FALSE(check.up());
  EXPECT_EQ(feed(check, {true, true, true}), (std::vector{none, went_up, none}));
  EXPECT_TRUE(check.up());
}

TEST(HealthCheck, SoftStartStatesFlipOnTheFirstContraryResult) {
  HealthCheck up(options(InitialState::up), kStart);
  EXPECT_TRUE(up.up());
  EXPECT_EQ(feed(up, {false}), (std::vector{went_down}));
  HealthCheck down(options(InitialState::down), kStart);
  EXPECT_FALSE(down.up());
  EXPECT_EQ(feed(down, {true}), (std::vector{went_up}));
}

TEST(HealthCheck, ASoftStartConfirmedOnceNeedsTheFullCountAfterwards) {
  HealthCheck check(options(InitialState::up), kStart);
  EXPECT_EQ(feed(check, {true, false, false, false}), (std::vector{none, none, none, went_down}));
}

TEST(HealthCheck, AFlappingBackendKeepsItsState) {
  HealthCheck up(options(InitialState::fully_up), kStart);
  const std::vector<bool> flapping{false, false, true, false, false, true, false, true};
  EXPECT_EQ(feed(up, flapping), std::vector<HealthTransition>(flapping.size(), none));
  EXPECT_TRUE(up.up());
  HealthCheck down(options(InitialState::fully_down), kStart);
  const std::vector<bool> recovering{true, false, true, false, true, false};
  EXPECT_EQ(feed(down, recovering), std::vector<HealthTransition>(recovering.size(), none));
  EXPECT_FALSE(down.up());
}

TEST(HealthCheck, GoesDownAndUpAgain) {
  HealthCheck check(options(InitialState::fully_up, 1, 1), kStart);
  EXPECT_EQ(feed(check, {false, true, false, true}),
            (std::vector{went_down, went_up, went_down, went_up}));
}

TEST(HealthCheck, IntervalsFollowInterFastinterAndDowninter) {
  HealthCheckOptions given = options(InitialState::fully_up);
  given.fast_interval = 500ms;
  given.down_interval = 10s;
  HealthCheck check(given, kStart);
  EXPECT_EQ(check.next_check(), kStart);  // the first check at once
  auto now = kStart + 1s;
  check.record(true, now);
  EXPECT_EQ(check.next_check(), now + 2s);  // settled up: inter
  check.record(false, now += 1s);
  EXPECT_EQ(check.next_check(), now + 500ms);  // going down: fastinter
  check.record(false, now += 1s);
  check.record(false, now += 1s);
  EXPECT_EQ(check.next_check(), now + 10s);  // settled down: downinter
  check.record(true, now += 1s);
  EXPECT_EQ(check.next_check(), now + 500ms);  // going up: fastinter
  check.record(true, now += 1s);
  EXPECT_EQ(check.next_check(), now + 2s);
}

TEST(HealthCheck, UnsetFastAndDownIntervalsMeanTheInterval) {
  HealthCheck check(options(InitialState::fully_up, 1), kStart);
  check.record(false, kStart);
  EXPECT_FALSE(check.up());
  EXPECT_EQ(check.next_interval(), 2s);
  HealthCheck soft(options(InitialState::up), kStart);
  EXPECT_EQ(soft.next_interval(), 2s);
}

TEST(HealthCheck, RejectsNonsense) {
  EXPECT_THROW(HealthCheck(options(InitialState::up, 0), kStart), std::invalid_argument);
  EXPECT_THROW(HealthCheck(options(InitialState::up, 3, 0), kStart), std::invalid_argument);
  HealthCheckOptions no_interval = options(InitialState::up);
  no_interval.interval = 0ms;
  EXPECT_THROW(HealthCheck(no_interval, kStart), std::invalid_argument);
}

}  // namespace
}  // namespace isla::balancer
