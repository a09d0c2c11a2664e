// The autoscaler's decisions with a fake clock (plain times passed in) and a fake launcher.
#include "tasks/autoscale/scaler_driver.hpp"

#include <gtest/gtest.h>

#include <random>

#include "fake_island.hpp"

namespace isla::tasks::autoscale {
namespace {

using namespace std::chrono_literals;
using fakes::FakeIsland;
using fakes::FakeLauncher;

// Leadership was gained long before the tests' time 0, so the settling period is over.
constexpr Millis kLeaderSince = -60s;

std::vector<Millis> times_of(const std::vector<std::pair<Millis, Decision>>& decisions) {
  std::vector<Millis> times;
  for (const auto& [at, decision] : decisions) times.push_back(at);
  return times;
}

TEST(Autoscaler, BurstFromOneWorkerReachesTheNeededCountWithinFiveSeconds) {
  FakeIsland island;
  island.others = {{.id = "w-0", .concurrency = 4}};
  island.boot = 1500ms;
  ScalerDriver driver(AutoscalerConfig{}, island.launcher, island.callbacks());
  driver.on_gained_leadership(kLeaderSince);

  // 12 long tasks need ceil(12 / (0.6 * 4)) = 5 workers of 4 slots at the 60 % target.
  island.tasks = 12;
  std::optional<Millis> reached;
  for (auto now = 0ms; now < 20s; now += 100ms) {
    island.tick(driver, now);
    if (!reached && 1 + island.launcher.started_total() >= 5) reached = now;
  }
  ASSERT_TRUE(reached);
  EXPECT_LE(*reached, 5s);
  EXPECT_EQ(island.launcher.started_total(), 4) << "never more than needed";
  EXPECT_EQ(island.live_workers(20s), 5);

  ASSERT_EQ(island.reported.size(), 1u);
  const auto json = island.reported[0].to_json();
  EXPECT_EQ(json.at("decision").as_string(), "scale_up");
  EXPECT_EQ(json.at("count").as_int64(), 4);
  EXPECT_EQ(json.at("started").as_array().size(), 4u);
  const auto& numbers = json.at("numbers").as_object();
  EXPECT_DOUBLE_EQ(numbers.at("utilisation").as_double(), 3.0);  // (4 busy + 8 ready) / 4 slots
  EXPECT_EQ(numbers.at("ready").as_int64(), 8);
  EXPECT_EQ(numbers.at("running").as_int64(), 4);
  EXPECT_EQ(numbers.at("workers").as_int64(), 1);
  EXPECT_EQ(numbers.at("desired").as_int64(), 5);
  EXPECT_EQ(numbers.at("high_for_ms").as_int64(), 3000);
  EXPECT_NE(
      std::string(json.at("reason").as_string()).find("utilisation 3.00 above 0.80 for 3.0 s"),
      std::string::npos)
      << json;
}

TEST(Autoscaler, ABigBurstIsMetInBoundedStepsAndReachesTheMaximumWithinFiveSeconds) {
  FakeIsland island;
  island.others = {{.id = "w-0", .concurrency = 4}};
  island.boot = 1500ms;
  ScalerDriver driver(AutoscalerConfig{}, island.launcher, island.callbacks());  // max 8
  driver.on_gained_leadership(kLeaderSince);
  island.tasks = 40;  // wants 17 workers; the maximum is 8
  std::vector<Millis> at;
  for (auto now = 0ms; now < 20s; now += 100ms) {
    if (island.tick(driver, now).kind == DecisionKind::scale_up) at.push_back(now);
  }
  // 1 -> 5 (at most max(4, 1) more per step), then 5 -> 8 after the 1 s cooldown.
  EXPECT_EQ(island.launcher.start_calls, (std::vector<int>{4, 3}));
  EXPECT_EQ(at, (std::vector<Millis>{3s, 4s}));
  EXPECT_EQ(island.live_workers(20s), 8);
  EXPECT_NE(island.reported.back().reason.find("5 -> 8 workers"), std::string::npos)
      << island.reported.back().reason;
}

TEST(Autoscaler, NoScaleUpBeforeTheHighMarkHeldForThreeSeconds) {
  FakeIsland island;
  island.others = {{.id = "w-0", .concurrency = 4}};
  ScalerDriver driver(AutoscalerConfig{}, island.launcher, island.callbacks());
  driver.on_gained_leadership(kLeaderSince);
  island.tasks = 12;
  island.run(driver, 0ms, 3s);
  EXPECT_TRUE(island.launcher.start_calls.empty());
  const auto last = island.tick(driver, 2999ms);
  EXPECT_EQ(last.kind, DecisionKind::none);
  EXPECT_NE(last.reason.find("utilisation 3.00 above 0.80 for 2999 ms of the 3000 ms"),
            std::string::npos)
      << last.reason;
  EXPECT_EQ(island.tick(driver, 3s).kind, DecisionKind::scale_up);
}

TEST(Autoscaler, ADipBelowTheHighMarkRestartsTheWindow) {
  FakeIsland island;
  island.others = {{.id = "w-0", .concurrency = 4}};
  ScalerDriver driver(AutoscalerConfig{}, island.launcher, island.callbacks());
  driver.on_gained_leadership(kLeaderSince);
  island.tasks = 12;
  island.run(driver, 0ms, 2s);
  island.tasks = 2;  // 2 of 4 slots: 50 %, under the 80 % mark for one evaluation
  island.tick(driver, 2s);
  island.tasks = 12;
  island.run(driver, 2100ms, 5100ms);
  EXPECT_TRUE(island.launcher.start_calls.empty()) << "the window restarted at 2.1 s";
  EXPECT_EQ(island.tick(driver, 5100ms).kind, DecisionKind::scale_up);
}

TEST(Autoscaler, AnIdleIslandReturnsToTheMinimumOneWorkerAtATimeAfterThirtySeconds) {
  FakeIsland island;
  island.others = {{.id = "w-0", .concurrency = 4}};
  island.launcher.start(4);  // ours: fake-1 .. fake-4
  for (const auto& id : island.launcher.alive) island.launched_at[id] = -60s;
  ScalerDriver driver(AutoscalerConfig{}, island.launcher, island.callbacks());  // min 1
  driver.on_gained_leadership(kLeaderSince);
  std::vector<std::pair<Millis, Decision>> decisions;
  for (auto now = 0ms; now < 60s; now += 250ms) {
    auto decision = island.tick(driver, now);
    if (decision.acts()) decisions.emplace_back(now, decision);
    EXPECT_GE(island.live_workers(now), 1);
  }
  // The first after 30 s idle, then one per 2 s scale-down cooldown; ours before others'.
  EXPECT_EQ(times_of(decisions), (std::vector<Millis>{30s, 32s, 34s, 36s}));
  for (const auto& [at, decision] : decisions) {
    EXPECT_EQ(decision.kind, DecisionKind::scale_down);
    EXPECT_NE(decision.reason.find("below 0.10"), std::string::npos) << decision.reason;
  }
  EXPECT_EQ(island.launcher.stop_calls,
            (std::vector<std::string>{"fake-4", "fake-3", "fake-2", "fake-1"}));
  EXPECT_EQ(island.drain_requested.size(), 4u) << "every drain is also asked through heartbeats";
  EXPECT_EQ(island.live_workers(60s), 1);
  EXPECT_EQ(island.samples(60s).front().id, "w-0");
}

TEST(Autoscaler, TheNewestIdleWorkerIsDrainedFirst) {
  FakeIsland island;
  island.others = {{.id = "w-z", .concurrency = 4}};
  ScalerDriver driver(AutoscalerConfig{}, island.launcher, island.callbacks());
  driver.on_gained_leadership(kLeaderSince);
  island.run(driver, 0ms, 10s);
  island.others.push_back({.id = "w-a", .concurrency = 4});  // joins later
  island.run(driver, 10s, 40s);
  ASSERT_EQ(island.reported.size(), 1u);
  EXPECT_EQ(island.reported[0].worker, "w-a");
}

TEST(Autoscaler, NeverDrainsAWorkerWithTasksEvenWhenOthersAreIdle) {
  FakeIsland island;
  // One task on 300 slots: utilisation 0.3 %, far under the low mark.
  island.others = {{.id = "w-busy", .concurrency = 100},
                   {.id = "w-idle-1", .concurrency = 100},
                   {.id = "w-idle-2", .concurrency = 100}};
  island.tasks = 1;  // lands on w-busy, the first
  AutoscalerConfig config;
  config.min_workers = 0;
  ScalerDriver driver(config, island.launcher, island.callbacks());
  driver.on_gained_leadership(kLeaderSince);
  Decision last;
  for (auto now = 0ms; now < 90s; now += 250ms) last = island.tick(driver, now);
  EXPECT_EQ(island.drain_requested, (std::set<std::string>{"w-idle-1", "w-idle-2"}));
  ASSERT_EQ(island.samples(90s).size(), 1u);
  EXPECT_EQ(island.samples(90s)[0].id, "w-busy");
  EXPECT_EQ(last.kind, DecisionKind::none);
  EXPECT_NE(last.reason.find("every worker has tasks"), std::string::npos) << last.reason;
}

TEST(Autoscaler, StaysWithinTheMinimumAndMaximumUnderChangingLoad) {
  FakeIsland island;
  island.boot = 1s;
  AutoscalerConfig config;
  config.min_workers = 2;
  config.max_workers = 5;
  ScalerDriver driver(config, island.launcher, island.callbacks());
  driver.on_gained_leadership(kLeaderSince);
  std::mt19937 random(12);
  int ups = 0;
  int downs = 0;
  for (auto now = 0ms; now < 900s; now += 250ms) {
    // A new load every 45 s, idle half the time so that scale-downs happen too.
    if (now.count() % 45'000 == 0) {
      island.tasks = random() % 2 ? 0 : std::uniform_int_distribution(1, 60)(random);
    }
    const auto decision = island.tick(driver, now);
    ups += decision.kind == DecisionKind::scale_up;
    downs += decision.kind == DecisionKind::scale_down;
    ASSERT_LE(island.launcher.alive.size(), 5u) << "at " << now.count() << " ms";
    ASSERT_GE(island.launcher.alive.size(), 2u) << "at " << now.count() << " ms";
  }
  EXPECT_GT(ups, 1);
  EXPECT_GT(downs, 1);
}

TEST(Autoscaler, AFailedStartIsReportedAndRetriedAfterTheCooldownNotHammered) {
  FakeIsland island;
  island.launcher.capacity = 0;
  ScalerDriver driver(AutoscalerConfig{}, island.launcher, island.callbacks());  // min 1
  driver.on_gained_leadership(kLeaderSince);
  island.run(driver, 0ms, 5s);                                                // 50 evaluations
  EXPECT_EQ(island.launcher.start_calls, (std::vector<int>{1, 1, 1, 1, 1}));  // 0, 1, 2, 3, 4 s
  ASSERT_EQ(island.reported.size(), 5u);
  for (const auto& decision : island.reported) {
    EXPECT_EQ(decision.kind, DecisionKind::scale_up);
    EXPECT_TRUE(decision.started.empty());
    EXPECT_NE(decision.error.find("started 0 of 1"), std::string::npos) << decision.error;
    EXPECT_NE(decision.error.find("no capacity left"), std::string::npos) << decision.error;
    EXPECT_EQ(decision.to_json().at("error").as_string(), decision.error);
  }
  island.launcher.capacity = 10;
  const auto recovered = island.tick(driver, 5s);
  EXPECT_EQ(recovered.started, (std::vector<std::string>{"fake-1"}));
  EXPECT_TRUE(recovered.error.empty());
}

TEST(Autoscaler, WorkersStillStartingAreCountedSoNoneIsLaunchedTwice) {
  FakeIsland island;
  island.others = {{.id = "w-0", .concurrency = 4}};
  island.boot = 20s;  // slow to boot, but within the 30 s boot timeout
  island.tasks = 12;
  ScalerDriver driver(AutoscalerConfig{}, island.launcher, island.callbacks());
  driver.on_gained_leadership(kLeaderSince);
  island.run(driver, 0ms, 15s);
  EXPECT_EQ(island.launcher.start_calls, (std::vector<int>{4}));
  const auto later = island.tick(driver, 15s);
  EXPECT_EQ(later.numbers.workers, 1);
  EXPECT_EQ(later.numbers.starting, 4);
  EXPECT_EQ(later.numbers.slots, 20);
}

TEST(Autoscaler, AStartedWorkerThatNeverHeartbeatsIsStoppedAfterTheBootTimeout) {
  FakeIsland island;
  island.boot = 1h;
  AutoscalerConfig config;
  config.min_workers = 2;
  ScalerDriver driver(config, island.launcher, island.callbacks());
  driver.on_gained_leadership(kLeaderSince);
  island.run(driver, 0ms, 30s);
  EXPECT_EQ(island.launcher.start_calls, (std::vector<int>{2})) << "starting ones are counted";
  island.run(driver, 30s, 30300ms);
  std::vector<std::string> kinds;
  for (const auto& decision : island.reported) kinds.push_back(to_string(decision.kind));
  EXPECT_EQ(kinds,
            (std::vector<std::string>{"scale_up", "abandon_start", "abandon_start", "scale_up"}));
  EXPECT_EQ(island.launcher.stop_calls, (std::vector<std::string>{"fake-1", "fake-2"}));
  EXPECT_NE(island.reported[1].reason.find("has not heartbeated"), std::string::npos);
}

TEST(Autoscaler, AStartedWorkerThatDiesBeforeItsFirstHeartbeatIsReported) {
  FakeIsland island;
  island.boot = 10s;
  ScalerDriver driver(AutoscalerConfig{}, island.launcher, island.callbacks());  // min 1
  driver.on_gained_leadership(kLeaderSince);
  island.tick(driver, 0ms);
  island.launcher.alive.erase("fake-1");  // crashed while booting
  const auto reported = island.tick(driver, 1s);
  EXPECT_EQ(reported.kind, DecisionKind::abandon_start);
  EXPECT_EQ(reported.worker, "fake-1");
  EXPECT_NE(reported.reason.find("exited before its first heartbeat"), std::string::npos);
  EXPECT_EQ(island.tick(driver, 1100ms).kind, DecisionKind::scale_up) << "replaced";
}

TEST(Autoscaler, AQueueWaitingTooLongScalesUpWhenUtilisationLooksModerate) {
  // Slots are free but tasks wait (say, held by a type's max_running): 6 of 16 is 37.5 %.
  FakeLauncher launcher;
  std::vector<Decision> reported;
  ScalerDriver driver(AutoscalerConfig{}, launcher,
                      {.on_decision = [&](const Decision& d) { reported.push_back(d); }});
  driver.on_gained_leadership(kLeaderSince);
  std::vector<WorkerSample> workers;
  for (int i = 0; i < 4; ++i) workers.push_back({.id = "w-" + std::to_string(i), .concurrency = 4});
  workers[0].busy = 4;
  for (auto now = 0ms; now <= 3s; now += 100ms) {
    driver.evaluate(now, workers, {.ready = 2, .running = 4, .oldest_wait_ms = 6000});
  }
  ASSERT_EQ(reported.size(), 1u);
  EXPECT_EQ(reported[0].count, 1);
  EXPECT_NE(reported[0].reason.find("oldest ready task waited 6000 ms"), std::string::npos)
      << reported[0].reason;
  fakes::expect_reported_with_numbers(reported[0]);
}

TEST(Autoscaler, ALeadershipChangeRestartsTheWindows) {
  FakeIsland island;
  island.others = {{.id = "w-0", .concurrency = 4}};
  island.tasks = 12;
  ScalerDriver driver(AutoscalerConfig{}, island.launcher, island.callbacks());
  driver.on_gained_leadership(kLeaderSince);
  island.run(driver, 0ms, 2500ms);
  driver.on_lost_leadership();
  EXPECT_EQ(island.tick(driver, 2500ms).reason, "not the store leader");
  driver.on_gained_leadership(2600ms);
  // Settles until 4.6 s; the high window starts again at 2.6 s and is held at 5.6 s.
  island.run(driver, 2600ms, 5600ms);
  EXPECT_TRUE(island.launcher.start_calls.empty());
  EXPECT_EQ(island.tick(driver, 5600ms).kind, DecisionKind::scale_up);
}

TEST(Autoscaler, ANewLeaderSettlesBeforeStartingTheMinimum) {
  FakeIsland island;  // no workers at all; min 1
  ScalerDriver driver(AutoscalerConfig{}, island.launcher, island.callbacks());
  island.run(driver, 0ms, 10s);
  EXPECT_TRUE(island.launcher.start_calls.empty()) << "a follower never acts";
  driver.on_gained_leadership(10s);
  const auto settling = island.tick(driver, 11s);
  EXPECT_NE(settling.reason.find("settling"), std::string::npos) << settling.reason;
  island.run(driver, 11s, 12s);
  EXPECT_TRUE(island.launcher.start_calls.empty());
  EXPECT_EQ(island.tick(driver, 12s).kind, DecisionKind::scale_up);
}

TEST(Autoscaler, NeverScalesUpPastTheMaximum) {
  FakeIsland island;
  for (int i = 0; i < 3; ++i)
    island.others.push_back({.id = "w-" + std::to_string(i), .concurrency = 4});
  island.tasks = 100;
  AutoscalerConfig config;
  config.max_workers = 3;
  ScalerDriver driver(config, island.launcher, island.callbacks());
  driver.on_gained_leadership(kLeaderSince);
  island.run(driver, 0ms, 10s);
  EXPECT_TRUE(island.launcher.start_calls.empty());
  const auto last = island.tick(driver, 10s);
  EXPECT_NE(last.reason.find("already at the maximum of 3"), std::string::npos) << last.reason;
}

TEST(Autoscaler, ABadConfigurationIsRefusedWithEveryBrokenRule) {
  AutoscalerConfig config;
  config.min_workers = 5;
  config.max_workers = 2;
  config.low_utilisation = 0.7;  // above the 0.6 target
  try {
    Autoscaler autoscaler(config);
    FAIL() << "accepted";
  } catch (const std::invalid_argument& error) {
    const std::string text = error.what();
    EXPECT_NE(text.find("min_workers (5) must not exceed max_workers (2)"), std::string::npos)
        << text;
    EXPECT_NE(text.find("low utilisation (0.7)"), std::string::npos) << text;
  }
  EXPECT_TRUE(AutoscalerConfig{}.problems().empty());
}

}  // namespace
}  // namespace isla::tasks::autoscale
