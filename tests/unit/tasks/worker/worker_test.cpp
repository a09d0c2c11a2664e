// The worker engine against a fake gateway side: results delivered once per lease whatever
// the calls suffer, the concurrency bound, lease extension and loss, the graceful and the
// hurried stop, retries of undelivered results, and no spinning when idle.
#include "tasks/worker/worker.hpp"

#include <gtest/gtest.h>

#include <future>

#include "fakes.hpp"

namespace isla::tasks {
namespace {

using namespace testing;
using std::chrono::microseconds;
namespace json = boost::json;

struct Rig {
  explicit Rig(Misbehaviour misbehaviour = {}, WorkerOptions options = default_options())
      : source(clock, misbehaviour) {
    catalog.add(counting);
    catalog.add(blocking);
    worker = std::make_unique<Worker>(options, catalog, source, clock);
  }
  static WorkerOptions default_options() {
    WorkerOptions options;
    options.concurrency = 4;
    options.visibility = seconds(30);
    options.lease_wait = seconds(20);
    return options;
  }
  ~Rig() {
    blocking->release();
    stop();
  }
  // Stops the worker while fake time goes on (its retries wait on fake time).
  void stop() {
    auto stopped = std::async(std::launch::async, [this] { worker->stop(); });
    EXPECT_TRUE(eventually(
        [&] { return stopped.wait_for(milliseconds(0)) == std::future_status::ready; }, &clock))
        << "the worker did not stop";
  }

  FakeWorkerClock clock;
  FakeSource source;
  std::shared_ptr<CountingType> counting = std::make_shared<CountingType>();
  std::shared_ptr<BlockingType> blocking = std::make_shared<BlockingType>();
  TaskCatalog catalog;
  std::unique_ptr<Worker> worker;
};

TEST(Worker, EveryLeasedTaskIsRecordedOncePerLeaseWhateverTheCallsSuffer) {
  Misbehaviour chaos;
  chaos.drop_lease_answer = 0.2;
  chaos.duplicate = 0.3;
  chaos.fail_extend = 0.3;
  chaos.drop_complete_before = 0.2;
  chaos.drop_complete_after = 0.2;
  chaos.max_delay_ms = 2;
  Rig rig(chaos);
  constexpr int kTasks = 200;
  for (int n = 0; n < kTasks; ++n) rig.source.add("count", json::object{{"n", n}});
  rig.worker->start();
  ASSERT_TRUE(eventually([&] { return rig.source.recorded_ids().size() == kTasks; }, &rig.clock));
  rig.stop();

  const auto recorded = rig.source.read(&FakeSource::recorded_);
  for (const auto& [lease, count] : recorded) EXPECT_EQ(count, 1) << lease.id;
  EXPECT_EQ(recorded.size(), static_cast<std::size_t>(kTasks)) << "one recorded lease per task";
  EXPECT_EQ(rig.source.read(&FakeSource::unknown_results_), 0) << "results for leases never had";
  // Duplicated leases ran once: every task ran exactly once.
  const auto runs = rig.counting->runs();
  ASSERT_EQ(runs.size(), static_cast<std::size_t>(kTasks));
  for (const auto& [n, count] : runs) EXPECT_EQ(count, 1) << "task n=" << n;
  const auto counters = rig.worker->counters();
  EXPECT_GT(counters.duplicates, 0u) << "the fake did hand out duplicates";
  EXPECT_EQ(counters.completed, static_cast<std::uint64_t>(kTasks));
  EXPECT_EQ(rig.source.read(&FakeSource::byes_), 1);
}

TEST(Worker, NeverRunsMoreThanItsConcurrencyEvenWhenHandedMore) {
  Misbehaviour greedy;
  greedy.greedy = true;
  auto options = Rig::default_options();
  options.concurrency = 3;
  Rig rig(greedy, options);
  for (int i = 0; i < 12; ++i) rig.source.add("block", json::object{});
  rig.worker->start();
  ASSERT_TRUE(eventually([&] { return rig.blocking->running() == 3; }));
  EXPECT_LE(rig.source.read(&FakeSource::max_asked_), 3) << "asked for more than its free slots";
  rig.blocking->release();
  ASSERT_TRUE(eventually([&] { return rig.source.recorded_count() == 12; }, &rig.clock));
  EXPECT_EQ(rig.blocking->most(), 3);
  rig.stop();
}

TEST(Worker, AsksForNoMoreThanTheApiAllowsPerLease) {
  auto options = Rig::default_options();
  options.concurrency = 300;
  options.max_lease_batch = 256;
  Rig rig({}, options);
  rig.worker->start();
  ASSERT_TRUE(eventually([&] { return rig.source.read(&FakeSource::lease_calls_) >= 1; }));
  EXPECT_EQ(rig.source.read(&FakeSource::max_asked_), 256);
  rig.stop();
}

TEST(Worker, ExtendsTheLeaseOfALongTaskEveryThirdOfTheVisibilityTimeout) {
  Rig rig;
  rig.source.add("block", json::object{});
  rig.worker->start();
  ASSERT_TRUE(eventually([&] { return rig.blocking->running() == 1; }));
  // Fake time moves a tenth of a second at a time until each extension: they come a third
  // of the 30 s visibility timeout apart.
  const auto started = rig.clock.now();
  for (int extension = 1; extension <= 4; ++extension) {
    const auto before = rig.clock.now();
    ASSERT_TRUE(eventually([&] { return rig.source.extensions_of("t0") == extension; }, &rig.clock,
                           milliseconds(100)));
    EXPECT_GE(rig.clock.now() - before, milliseconds(9'900)) << "extension " << extension;
  }
  EXPECT_LE(rig.clock.now() - started, seconds(50));
  EXPECT_EQ(rig.source.read(&FakeSource::last_visibility_), seconds(30));
  rig.blocking->release();
  ASSERT_TRUE(eventually([&] { return rig.source.recorded_count() == 1; }, &rig.clock));
  rig.stop();
}

TEST(Worker, ALostExtensionStopsTheRunAndItsResultIsNotSent) {
  Rig rig;
  rig.source.add("block", json::object{});
  rig.worker->start();
  ASSERT_TRUE(eventually([&] { return rig.blocking->running() == 1; }));
  rig.source.lose_on_extend("t0");
  ASSERT_TRUE(
      eventually([&] { return rig.blocking->stopped() == 1; }, &rig.clock, milliseconds(500)));
  EXPECT_EQ(rig.worker->counters().lost_leases, 1u);
  // Its slot is free again: the next task runs.
  rig.source.add("count", json::object{{"n", 1}});
  ASSERT_TRUE(eventually([&] { return rig.source.recorded_count() == 1; }, &rig.clock));
  rig.stop();
  EXPECT_EQ(rig.source.read(&FakeSource::sent_).size(), 1u) << "the lost lease's result was sent";
  EXPECT_TRUE(rig.source.recorded_ids().contains("t1"));
}

TEST(Worker, StopFinishesTheRunningTasksThenSaysByeAfterTheLastResult) {
  Rig rig;
  rig.source.add("block", json::object{});
  rig.source.add("block", json::object{});
  rig.worker->start();
  ASSERT_TRUE(eventually([&] { return rig.blocking->running() == 2; }));
  auto stopped = std::async(std::launch::async, [&] { rig.worker->stop(); });
  ASSERT_TRUE(eventually([&] { return rig.source.count_in_log("interrupt") == 1; }));
  const auto leases_at_stop = rig.source.read(&FakeSource::lease_calls_);
  // Still finishing: the runs go on, nothing was sent, no bye.
  EXPECT_EQ(stopped.wait_for(milliseconds(50)), std::future_status::timeout);
  EXPECT_EQ(rig.blocking->running(), 2);
  EXPECT_EQ(rig.source.count_in_log("bye"), 0);
  ASSERT_TRUE(eventually(
      [&] {
        const auto beats = rig.source.read(&FakeSource::heartbeats_);
        return std::any_of(beats.begin(), beats.end(),
                           [](const auto& stats) { return stats.draining && stats.busy == 2; });
      },
      &rig.clock, milliseconds(200)))
      << "no heartbeat said it was draining";
  rig.blocking->release();
  ASSERT_TRUE(eventually(
      [&] { return stopped.wait_for(milliseconds(0)) == std::future_status::ready; }, &rig.clock));

  const auto log = rig.source.read(&FakeSource::log_);
  ASSERT_FALSE(log.empty());
  EXPECT_EQ(log.back(), "bye") << "bye must come last, after every result and heartbeat";
  EXPECT_EQ(rig.source.recorded_count(), 2u);
  EXPECT_EQ(rig.source.read(&FakeSource::lease_calls_), leases_at_stop) << "leased while stopping";
  EXPECT_TRUE(rig.worker->has_left());
}

TEST(Worker, ASecondStopCancelsTheRuns) {
  Rig rig;
  rig.source.add("block", json::object{});
  rig.worker->start();
  ASSERT_TRUE(eventually([&] { return rig.blocking->running() == 1; }));
  auto first = std::async(std::launch::async, [&] { rig.worker->stop(); });
  ASSERT_TRUE(eventually([&] { return rig.source.count_in_log("interrupt") == 1; }));
  auto second = std::async(std::launch::async, [&] { rig.worker->stop(); });
  ASSERT_TRUE(eventually(
      [&] {
        return first.wait_for(milliseconds(0)) == std::future_status::ready &&
               second.wait_for(milliseconds(0)) == std::future_status::ready;
      },
      &rig.clock));
  EXPECT_EQ(rig.blocking->stopped(), 1);
  const auto outcomes = rig.source.read(&FakeSource::outcomes_);
  ASSERT_TRUE(outcomes.contains("t0"));
  EXPECT_FALSE(outcomes.at("t0").ok);
  EXPECT_EQ(outcomes.at("t0").failure, FailureKind::cancelled);
}

TEST(Worker, TheDrainDeadlineCancelsRunsThatOutlastIt) {
  auto options = Rig::default_options();
  options.drain_timeout = seconds(5);
  Rig rig({}, options);
  rig.source.add("block", json::object{});
  rig.worker->start();
  ASSERT_TRUE(eventually([&] { return rig.blocking->running() == 1; }));
  rig.worker->request_stop();
  ASSERT_TRUE(eventually([&] { return rig.worker->has_left(); }, &rig.clock, milliseconds(100)));
  EXPECT_EQ(rig.blocking->stopped(), 1);
  rig.stop();
}

TEST(Worker, AnUndeliverableResultIsKeptAndSentAgain) {
  Rig rig;
  rig.source.fail_next_completes(5);
  rig.source.add("count", json::object{{"n", 7}});
  rig.worker->start();
  ASSERT_TRUE(eventually([&] { return rig.source.recorded_count() == 1; }, &rig.clock));
  EXPECT_GE(rig.source.read(&FakeSource::complete_calls_), 6);
  // The worker counts a delivery once complete() has returned, just after the source
  // recorded it: wait for the count rather than race it.
  EXPECT_TRUE(eventually([&] { return rig.worker->counters().delivered == 1u; }, &rig.clock));
  EXPECT_EQ(rig.worker->counters().dropped_results, 0u);
  rig.stop();
}

TEST(Worker, AnUndeliveredResultIsKeptWhileItsLeaseLivesAndDroppedWhenLost) {
  Rig rig;
  rig.source.fail_next_completes(1'000'000);
  rig.source.add("count", json::object{{"n", 7}});
  rig.worker->start();
  ASSERT_TRUE(eventually([&] { return rig.worker->counters().completed == 1; }));
  // 100 s of fake time: the lease is extended meanwhile, so the result is kept.
  const auto started = rig.clock.now();
  for (int extension = 1; extension <= 10; ++extension) {
    ASSERT_TRUE(eventually([&] { return rig.source.extensions_of("t0") == extension; }, &rig.clock,
                           milliseconds(100)));
  }
  ASSERT_GE(rig.clock.now() - started, seconds(99));
  EXPECT_EQ(rig.worker->counters().dropped_results, 0u);
  EXPECT_GE(rig.source.read(&FakeSource::complete_calls_), 3) << "not retried";
  rig.source.lose_on_extend("t0");
  ASSERT_TRUE(eventually([&] { return rig.worker->counters().lost_leases == 1; }, &rig.clock,
                         milliseconds(500)));
  rig.stop();
  EXPECT_EQ(rig.source.recorded_count(), 0u);
}

TEST(Worker, AnUndeliveredResultIsGivenUpOnceItsLeaseIsSurelyGone) {
  Misbehaviour unreachable;
  unreachable.fail_extend = 1.0;
  Rig rig(unreachable);
  rig.source.fail_next_completes(1'000'000);
  rig.source.add("count", json::object{{"n", 7}});
  rig.worker->start();
  ASSERT_TRUE(eventually([&] { return rig.worker->counters().completed == 1; }));
  // Neither extended nor delivered: kept for the lease's 30 s and 30 more, then dropped.
  for (int second = 0; second < 55; ++second) {
    rig.clock.advance(seconds(1));
    std::this_thread::sleep_for(microseconds(500));
  }
  EXPECT_EQ(rig.worker->counters().dropped_results, 0u);
  ASSERT_TRUE(eventually([&] { return rig.worker->counters().dropped_results == 1; }, &rig.clock,
                         milliseconds(500)));
  rig.stop();
}

TEST(Worker, AnIdleWorkerWaitsInTheLongPollInsteadOfSpinning) {
  Rig rig;
  rig.worker->start();
  // Two fake minutes with 20 s polls: about six lease calls.
  for (int i = 0; i < 1200; ++i) {
    rig.clock.advance(milliseconds(100));
    std::this_thread::sleep_for(microseconds(200));
  }
  const auto calls = rig.source.read(&FakeSource::lease_calls_);
  EXPECT_GE(calls, 2);
  EXPECT_LE(calls, 9);
  rig.stop();
}

TEST(Worker, AnUnreachableOrHastyGatewayIsAskedWithBackoffNotInALoop) {
  for (const bool fails : {true, false}) {
    Misbehaviour misbehaviour;
    misbehaviour.lease_fails = fails;
    misbehaviour.lease_answers_at_once = !fails;
    Rig rig(misbehaviour);
    rig.worker->start();
    // Fake time moves on only once the worker has seen the last step (however slowly a
    // loaded machine runs its thread), so the count below depends on the worker alone.
    // A worker asking in a loop never waits: the count check below then ends the run.
    for (int i = 0; i < 600 && rig.source.read(&FakeSource::lease_calls_) <= 80; ++i) {
      rig.clock.advance(milliseconds(100));
      const auto seen = rig.clock.waits() + 2;  // a wait that began after the advance
      const auto give_up = std::chrono::steady_clock::now() + seconds(5);
      while (rig.clock.waits() < seen && rig.source.read(&FakeSource::lease_calls_) <= 80 &&
             std::chrono::steady_clock::now() < give_up) {
        std::this_thread::yield();
      }
    }
    // 60 fake seconds; the backoff grows to 2 s (at least 1 s with jitter).
    const auto calls = rig.source.read(&FakeSource::lease_calls_);
    EXPECT_GE(calls, 10) << "fails=" << fails;
    EXPECT_LE(calls, 80) << "fails=" << fails;
    rig.stop();
  }
}

TEST(Worker, AnUnknownTypeFailsWithAClearError) {
  Rig rig;
  rig.source.add("nope", json::object{});
  rig.worker->start();
  ASSERT_TRUE(eventually([&] { return rig.source.recorded_count() == 1; }, &rig.clock));
  rig.stop();
  const auto outcome = rig.source.read(&FakeSource::outcomes_).at("t0");
  EXPECT_FALSE(outcome.ok);
  EXPECT_EQ(outcome.failure, FailureKind::failed);
  EXPECT_EQ(outcome.error, "this worker does not know type nope");
}

TEST(Worker, BadParametersFailAsBadParamsWithoutRunning) {
  Rig rig;
  rig.source.add("count", json::object{{"n", "seven"}});
  rig.source.add("count", json::array{1, 2});
  rig.worker->start();
  ASSERT_TRUE(eventually([&] { return rig.source.recorded_count() == 2; }, &rig.clock));
  rig.stop();
  const auto outcomes = rig.source.read(&FakeSource::outcomes_);
  for (const auto* id : {"t0", "t1"}) {
    EXPECT_FALSE(outcomes.at(id).ok);
    EXPECT_EQ(outcomes.at(id).failure, FailureKind::bad_params);
  }
  EXPECT_EQ(outcomes.at("t0").error, "n: must be an integer in [0, 1000000]");
  EXPECT_TRUE(rig.counting->runs().empty());
}

TEST(Worker, LeavesWhenAHeartbeatAnswerAsksItToDrain) {
  Rig rig;
  rig.worker->start();
  rig.source.ask_to_drain();
  ASSERT_TRUE(eventually([&] { return rig.worker->has_left(); }, &rig.clock, milliseconds(200)));
  EXPECT_TRUE(rig.worker->counters().drain_requested);
  EXPECT_EQ(rig.source.read(&FakeSource::byes_), 1);
  rig.stop();
}

TEST(Worker, HeartbeatsCarryItsCounters) {
  Rig rig;
  rig.source.add("count", json::object{{"n", 1}});
  rig.source.add("nope", json::object{});
  rig.worker->start();
  ASSERT_TRUE(eventually(
      [&] {
        const auto beats = rig.source.read(&FakeSource::heartbeats_);
        return !beats.empty() && beats.back().completed == 1 && beats.back().failed == 1;
      },
      &rig.clock, milliseconds(200)));
  const auto last = rig.source.read(&FakeSource::heartbeats_).back();
  EXPECT_EQ(last.concurrency, 4);
  EXPECT_FALSE(last.draining);
  rig.stop();
}

}  // namespace
}  // namespace isla::tasks
