#include "tasks/queue/store_task_queue.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <functional>
#include <map>
#include <set>

#include "support/memory_store.hpp"
#include "support/run_coroutine.hpp"
#include "tasks/queue/task_keys.hpp"

namespace isla::tasks {
namespace {

// GCC 12's false -Wmismatched-new-delete on inlined Asio coroutine frames (see
// src/tasks/queue/store_task_queue.cpp).
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

using namespace std::chrono_literals;
using store::StoreErrorCode;
using SteadyClock = std::chrono::steady_clock;

// Built outside coroutines: GCC 12 cannot initialise an aggregate from string literals in
// a coroutine frame ("array used as initializer").
AttemptResult succeeded(const TaskRecord& task, const boost::json::value& result) {
  return {task.id, task.lease, true, result, "", "", false};
}
AttemptResult failed_with(const TaskRecord& task, std::string error) {
  return {task.id, task.lease, false, {}, "failed", std::move(error), false};
}

LeaseAsk ask_for(int max, std::chrono::milliseconds wait, std::int64_t visibility,
                 std::string worker = "w1") {
  return {std::move(worker), max, wait, visibility};
}

WorkerReport sample_report() {
  return {"w-7", 4, 1, 10, 0, false, 42};
}

SubmitSpec spec_of(const std::string& type, int max_attempts, const std::string& key) {
  return {type, boost::json::object{{"values", boost::json::array{1, 2}}}, 0, max_attempts, key};
}

// GCC 12 cannot hold an initializer list's array in a coroutine frame either.
template <class T>
std::vector<T> one(T value) {
  std::vector<T> values;
  values.push_back(std::move(value));
  return values;
}
boost::json::value naming(const std::string& lease) {
  boost::json::object object;
  object["lease"] = lease;
  return object;
}

class StoreTaskQueueTest : public ::testing::Test {
 protected:
  void SetUp() override { queue_ = make_queue(); }

  std::shared_ptr<StoreTaskQueue> make_queue() {
    StoreTaskQueueOptions options;
    options.leadership = [this] { return Leadership{leading_.load(), "127.0.0.9:5235"}; };
    options.now_ms = [this] { return now_.load(); };
    options.max_running = [](std::string_view type) { return type == "mine" ? 1 : 0; };
    options.tick = 20ms;
    return std::make_shared<StoreTaskQueue>(store_, options,
                                            std::make_unique<core::SeededRandom>(7));
  }

  // Runs `body` with the queue following the store, then stops the queue.
  void run(std::function<asio::awaitable<void>()> body) {
    queue_->start(io_.get_executor());
    testing::run_to_end(io_, std::move(body), [this] { queue_->stop(); });
  }

  static store::Deadline soon(std::chrono::milliseconds within = 5s) {
    return SteadyClock::now() + within;
  }

  asio::awaitable<TaskRecord> submit() { co_return co_await submit_as(sum_, 5, none_); }
  asio::awaitable<TaskRecord> submit_as(const std::string& type, int max_attempts,
                                        const std::string& key) {
    const SubmitSpec spec = spec_of(type, max_attempts, key);
    auto submitted = co_await queue_->submit(spec, soon());
    EXPECT_TRUE(submitted.ok()) << submitted.error.message;
    co_return submitted.value->task;
  }

  asio::awaitable<std::vector<TaskRecord>> lease(int max = 1, std::chrono::milliseconds wait = 3s,
                                                 std::int64_t visibility = 10'000) {
    LeaseAsk ask = ask_for(max, wait, visibility);
    auto leased = co_await queue_->lease(ask, soon(wait + 2s));
    EXPECT_TRUE(leased.ok()) << leased.error.message;
    if (!leased.ok()) co_return std::vector<TaskRecord>{};
    co_return std::move(*leased.value);
  }

  asio::awaitable<Settled> complete(const TaskRecord& leased, const boost::json::value& result) {
    AttemptResult attempt = succeeded(leased, result);
    auto settled = co_await queue_->complete(worker_, one(attempt), soon());
    EXPECT_TRUE(settled.ok()) << settled.error.message;
    if (!settled.ok()) co_return Settled{};
    co_return std::move(*settled.value);
  }

  // Polls the record until `condition` holds (the reaper runs on its own tick).
  asio::awaitable<TaskRecord> until(const std::string& id,
                                    std::function<bool(const TaskRecord&)> condition) {
    const auto give_up = SteadyClock::now() + 5s;
    for (;;) {
      auto record = co_await queue_->get(id, soon());
      if (record.ok() && condition(*record.value)) co_return *record.value;
      if (SteadyClock::now() > give_up) {
        ADD_FAILURE() << "condition never held for task " << id;
        co_return record.ok() ? *record.value : TaskRecord{};
      }
      asio::steady_timer timer(co_await asio::this_coro::executor, 5ms);
      co_await timer.async_wait(net::use_nothrow);
    }
  }

  const std::string worker_ = "w1";
  const std::string sum_ = "sum";
  const std::string mine_ = "mine";
  const std::string none_;
  const std::string order_ = "order-1";
  asio::io_context io_;
  testing::MemoryStore store_;
  std::atomic<std::int64_t> now_{1'000'000};
  std::atomic<bool> leading_{true};
  std::shared_ptr<StoreTaskQueue> queue_;
};

TEST_F(StoreTaskQueueTest, ATaskGoesFromSubmittedToLeasedToDone) {
  run([&]() -> asio::awaitable<void> {
    auto task = co_await submit();
    EXPECT_EQ(task.status, TaskStatus::queued);
    auto leased = co_await lease();
    EXPECT_EQ(leased.size(), 1u);
    if (leased.empty()) co_return;
    EXPECT_EQ(leased[0].id, task.id);
    EXPECT_EQ(leased[0].attempts, 1);
    auto settled = co_await complete(leased[0], 3);
    EXPECT_EQ(settled.done, one(task.id));
    auto finished = co_await queue_->wait_settled(task.id, soon());
    EXPECT_EQ(finished.value->status, TaskStatus::done);
    EXPECT_EQ(finished.value->result, 3);
  });
}

TEST_F(StoreTaskQueueTest, AnIdempotencyKeyAnswersWithTheFirstTask) {
  run([&]() -> asio::awaitable<void> {
    auto first = co_await submit_as(sum_, 5, order_);
    const SubmitSpec again = spec_of("multiply", 5, "order-1");
    auto second = co_await queue_->submit(again, soon());
    EXPECT_TRUE(second.value->duplicate);
    EXPECT_EQ(second.value->task.id, first.id);
    EXPECT_EQ(second.value->task.type, "sum");
    EXPECT_EQ(store_.dump(std::string(kTaskPrefix)).size(), 1u);
  });
}

// Submissions that arrive together share transactions (group commit), and each is still
// answered with its own task, written once.
TEST_F(StoreTaskQueueTest, SubmissionsThatArriveTogetherShareATransaction) {
  constexpr int kTasks = 40;
  run([&]() -> asio::awaitable<void> {
    // Writes take time, as a replicated one does: later submissions arrive meanwhile.
    store_.set_faults({0, 0, 0, 5ms});
    const auto writes_before = store_.writes_applied();
    std::vector<std::string> ids;
    int answered = 0;
    for (int i = 0; i < kTasks; ++i) {
      asio::co_spawn(
          co_await asio::this_coro::executor,
          [&]() -> asio::awaitable<void> {
            auto task = co_await submit();
            ids.push_back(task.id);
            ++answered;
          },
          asio::detached);
    }
    asio::steady_timer timer(co_await asio::this_coro::executor);
    const auto give_up = SteadyClock::now() + 5s;
    while (answered < kTasks && SteadyClock::now() < give_up) {
      timer.expires_after(1ms);
      co_await timer.async_wait(net::use_nothrow);
    }
    EXPECT_EQ(answered, kTasks);
    // The first submissions find a writer each free; the rest share the writers' next turns.
    const auto writers = static_cast<std::int64_t>(SubmitBatcherOptions{}.max_writers);
    EXPECT_LE(store_.writes_applied() - writes_before, 2 * writers) << "one per submission";
    std::sort(ids.begin(), ids.end());
    EXPECT_EQ(std::unique(ids.begin(), ids.end()), ids.end());
    EXPECT_EQ(store_.dump(std::string(kTaskPrefix)).size(), static_cast<std::size_t>(kTasks));
  });
}

// An idempotency key seen before, or twice in one burst, still names one task, and the
// submissions batched with it are written all the same.
TEST_F(StoreTaskQueueTest, ARepeatedIdempotencyKeyInABurstNamesOneTaskAndSparesTheOthers) {
  run([&]() -> asio::awaitable<void> {
    auto first = co_await submit_as(sum_, 5, order_);
    store_.set_faults({0, 0, 0, 5ms});
    std::vector<Submitted> keyed;
    int others = 0;
    int answered = 0;
    for (int i = 0; i < 6; ++i) {
      asio::co_spawn(
          co_await asio::this_coro::executor,
          [&, i]() -> asio::awaitable<void> {
            const std::string key = i % 2 == 0 ? "order-1" : "order-2";
            const SubmitSpec spec = spec_of("sum", 5, i < 4 ? key : std::string());
            auto submitted = co_await queue_->submit(spec, soon());
            EXPECT_TRUE(submitted.ok()) << submitted.error.message;
            if (submitted.ok() && i < 4) keyed.push_back(*submitted.value);
            if (submitted.ok() && i >= 4) ++others;
            ++answered;
          },
          asio::detached);
    }
    asio::steady_timer timer(co_await asio::this_coro::executor);
    const auto give_up = SteadyClock::now() + 5s;
    while (answered < 6 && SteadyClock::now() < give_up) {
      timer.expires_after(1ms);
      co_await timer.async_wait(net::use_nothrow);
    }
    EXPECT_EQ(others, 2);
    EXPECT_EQ(keyed.size(), 4u);
    std::map<std::string, std::set<std::string>> ids_by_key;
    int duplicates = 0;
    for (const auto& submitted : keyed) {
      ids_by_key[submitted.task.idempotency_key].insert(submitted.task.id);
      duplicates += submitted.duplicate ? 1 : 0;
    }
    EXPECT_EQ(ids_by_key["order-1"], std::set<std::string>{first.id});
    EXPECT_EQ(ids_by_key["order-2"].size(), 1u);
    EXPECT_EQ(duplicates, 3);  // both order-1 resubmissions, and the second order-2
    // order-1's task, order-2's, and the two without a key.
    EXPECT_EQ(store_.dump(std::string(kTaskPrefix)).size(), 4u);
  });
}

TEST_F(StoreTaskQueueTest, AWaitingLeaseIsAnsweredWhenATaskArrivesNotAtItsDeadline) {
  run([&]() -> asio::awaitable<void> {
    std::vector<TaskRecord> got;
    bool answered = false;
    const auto started = SteadyClock::now();
    asio::co_spawn(
        co_await asio::this_coro::executor,
        [&]() -> asio::awaitable<void> {
          got = co_await lease(1, 8s);
          answered = true;
        },
        asio::detached);
    asio::steady_timer timer(co_await asio::this_coro::executor, 50ms);
    co_await timer.async_wait(net::use_nothrow);
    EXPECT_FALSE(answered);
    co_await submit();
    while (!answered && SteadyClock::now() - started < 6s) {
      timer.expires_after(5ms);
      co_await timer.async_wait(net::use_nothrow);
    }
    EXPECT_EQ(got.size(), 1u);
    EXPECT_LT(SteadyClock::now() - started, 6s);
  });
}

TEST_F(StoreTaskQueueTest, AnIdleLeaseEndsEmptyAtItsWait) {
  run([&]() -> asio::awaitable<void> {
    const auto started = SteadyClock::now();
    auto got = co_await lease(4, 200ms);
    EXPECT_TRUE(got.empty());
    EXPECT_GE(SteadyClock::now() - started, 200ms);
  });
}

TEST_F(StoreTaskQueueTest, AnExpiredLeaseIsRetriedAndTheLateResultIsNotRecorded) {
  run([&]() -> asio::awaitable<void> {
    auto task = co_await submit();
    auto first = co_await lease(1, 3s, 1000);
    if (first.empty()) co_return;
    now_ += 1500;  // the worker went silent past its lease
    auto requeued = co_await until(task.id, [](const TaskRecord& record) {
      return record.status == TaskStatus::queued && record.attempts == 1;
    });
    EXPECT_EQ(requeued.errors.size(), 1u);
    if (requeued.errors.empty()) co_return;
    EXPECT_EQ(requeued.errors[0].kind, "lease_expired");
    const boost::json::value late_result = "late";
    auto late = co_await complete(first[0], late_result);
    EXPECT_EQ(late.lost, one(task.id));
    now_ += retry_backoff_ms(1);
    auto second = co_await lease();
    if (second.empty()) co_return;
    EXPECT_EQ(second[0].attempts, 2);
    const boost::json::value on_time = "on time";
    co_await complete(second[0], on_time);
    auto done = co_await queue_->get(task.id, soon());
    EXPECT_EQ(done.value->status, TaskStatus::done);
    EXPECT_EQ(done.value->result, "on time");
  });
}

TEST_F(StoreTaskQueueTest, AReportWhoseAnswerWasLostIsRecognisedWhenSentAgain) {
  run([&]() -> asio::awaitable<void> {
    co_await submit();
    auto leased = co_await lease();
    if (leased.empty()) co_return;
    store_.set_faults({0, 1.0, 0, 0ms});
    AttemptResult attempt = succeeded(leased[0], 7);
    auto lost_answer = co_await queue_->complete(worker_, one(attempt), soon());
    EXPECT_FALSE(lost_answer.ok());
    EXPECT_EQ(lost_answer.error.code, StoreErrorCode::unknown_outcome);
    store_.set_faults({});
    auto again = co_await queue_->complete(worker_, one(attempt), soon());
    EXPECT_EQ(again.value->done, one(leased[0].id));
    auto record = co_await queue_->get(leased[0].id, soon());
    EXPECT_EQ(record.value->status, TaskStatus::done);
    EXPECT_EQ(record.value->result, 7);
  });
}

TEST_F(StoreTaskQueueTest, FailuresEndInTheDeadLetterListWithEveryError) {
  run([&]() -> asio::awaitable<void> {
    auto task = co_await submit_as(sum_, 2, none_);
    for (int attempt = 1; attempt <= 2; ++attempt) {
      auto leased = co_await lease();
      if (leased.empty()) co_return;
      AttemptResult failed = failed_with(leased[0], "boom " + std::to_string(attempt));
      auto settled = co_await queue_->complete(worker_, one(failed), soon());
      EXPECT_EQ(settled.value->done.size(), 1u);
      now_ += retry_backoff_ms(attempt);
    }
    auto dead = co_await queue_->wait_settled(task.id, soon());
    EXPECT_EQ(dead.value->status, TaskStatus::dead);
    EXPECT_EQ(dead.value->errors.size(), 2u);
    auto listed = co_await queue_->list(TaskStatus::dead, none_, 10, soon());
    EXPECT_EQ(listed.value->tasks.size(), 1u);
    if (listed.value->tasks.empty()) co_return;
    EXPECT_EQ(listed.value->tasks[0].id, task.id);
  });
}

TEST_F(StoreTaskQueueTest, OnlyQueuedTasksCanBeCancelledAndCancelledOnesAreNeverLeased) {
  run([&]() -> asio::awaitable<void> {
    auto running = co_await submit();
    auto leased = co_await lease();
    EXPECT_EQ(leased.size(), 1u);
    auto refused = co_await queue_->cancel(running.id, soon());
    EXPECT_EQ(refused.error.code, StoreErrorCode::conflict);
    auto waiting = co_await submit();
    auto cancelled = co_await queue_->cancel(waiting.id, soon());
    EXPECT_EQ(cancelled.value->status, TaskStatus::cancelled);
    EXPECT_TRUE((co_await lease(1, 150ms)).empty());
    auto missing = co_await queue_->cancel(make_task_id(1, 1), soon());
    EXPECT_EQ(missing.error.code, StoreErrorCode::not_found);
  });
}

TEST_F(StoreTaskQueueTest, PerTypeLimitsHoldAcrossLeases) {
  run([&]() -> asio::awaitable<void> {
    for (int i = 0; i < 3; ++i) co_await submit_as(mine_, 5, none_);
    auto leased = co_await lease(3);
    EXPECT_EQ(leased.size(), 1u);
    EXPECT_TRUE((co_await lease(3, 150ms)).empty());
    if (leased.empty()) co_return;
    co_await complete(leased[0], 0);
    EXPECT_EQ((co_await lease(3)).size(), 1u);
  });
}

TEST_F(StoreTaskQueueTest, AGatewayThatDoesNotLeadSendsCallersToTheLeader) {
  leading_ = false;
  run([&]() -> asio::awaitable<void> {
    const SubmitSpec spec = spec_of("sum", 5, "");
    auto submitted = co_await queue_->submit(spec, soon());
    EXPECT_EQ(submitted.error.code, StoreErrorCode::not_leader);
    EXPECT_EQ(submitted.error.leader_address, "127.0.0.9:5235");
    const LeaseAsk ask = ask_for(1, 100ms, 1000);
    auto leased = co_await queue_->lease(ask, soon());
    EXPECT_EQ(leased.error.code, StoreErrorCode::not_leader);
  });
}

TEST_F(StoreTaskQueueTest, WorkersAreSeenAskedToDrainAndForgottenWhenSilent) {
  run([&]() -> asio::awaitable<void> {
    const WorkerReport report = sample_report();
    const std::string w7 = report.worker;
    auto first = co_await queue_->heartbeat(report, soon());
    EXPECT_FALSE(*first.value);
    auto deadline = SteadyClock::now() + 5s;
    asio::steady_timer timer(co_await asio::this_coro::executor);
    while (queue_->stats().workers.empty() && SteadyClock::now() < deadline) {
      timer.expires_after(5ms);
      co_await timer.async_wait(net::use_nothrow);
    }
    EXPECT_EQ(queue_->stats().workers.size(), 1u);
    if (queue_->stats().workers.empty()) co_return;
    EXPECT_TRUE(*(co_await queue_->request_drain(w7, soon())).value);
    while (!queue_->stats().workers[0].drain_requested && SteadyClock::now() < deadline) {
      timer.expires_after(5ms);
      co_await timer.async_wait(net::use_nothrow);
    }
    EXPECT_TRUE(*(co_await queue_->heartbeat(report, soon())).value);
    now_ += 6000;  // silent past the worker timeout
    while (!queue_->stats().workers.empty() && SteadyClock::now() < deadline) {
      timer.expires_after(5ms);
      co_await timer.async_wait(net::use_nothrow);
    }
    EXPECT_TRUE(queue_->stats().workers.empty());
  });
}

TEST_F(StoreTaskQueueTest, AWorkerThatSaidByeIsNotGivenTheTasksItsOpenPollWaitsFor) {
  run([&]() -> asio::awaitable<void> {
    bool answered = false;
    std::vector<TaskRecord> got;
    asio::co_spawn(
        co_await asio::this_coro::executor,
        [&]() -> asio::awaitable<void> {
          got = co_await lease(1, 3s);
          answered = true;
        },
        asio::detached);
    asio::steady_timer timer(co_await asio::this_coro::executor, 20ms);
    co_await timer.async_wait(net::use_nothrow);
    co_await queue_->bye(worker_, soon());
    auto task = co_await submit();
    const auto give_up = SteadyClock::now() + 5s;
    while (!answered && SteadyClock::now() < give_up) {
      timer.expires_after(5ms);
      co_await timer.async_wait(net::use_nothrow);
    }
    EXPECT_TRUE(answered);
    EXPECT_TRUE(got.empty());
    auto record = co_await queue_->get(task.id, soon());
    EXPECT_EQ(record.value->status, TaskStatus::queued);
    // Back with a heartbeat (restarted under the same id), it is served again.
    const WorkerReport back{worker_, 4, 0, 0, 0, false, 1};
    co_await queue_->heartbeat(back, soon());
    EXPECT_EQ((co_await lease()).size(), 1u);
  });
}

// Workers that resend every report until it is answered, over a store that refuses some
// writes and loses the answers of others: every task ends done, and the result recorded
// is the one of the attempt the record names (never a second one written over it).
TEST_F(StoreTaskQueueTest, UnderRefusedWritesAndLostAnswersEveryTaskHasExactlyOneResult) {
  constexpr int kTasks = 60;
  run([&]() -> asio::awaitable<void> {
    std::vector<std::string> ids;
    for (int i = 0; i < kTasks; ++i) ids.push_back((co_await submit()).id);
    store_.set_faults({0.1, 0.1, 0.05, 0ms});
    int finished_workers = 0;
    for (int w = 0; w < 3; ++w) {
      asio::co_spawn(
          co_await asio::this_coro::executor,
          [&, w]() -> asio::awaitable<void> {
            const std::string name = "w" + std::to_string(w);
            const auto give_up = SteadyClock::now() + 20s;
            while (SteadyClock::now() < give_up) {
              auto stats = queue_->stats();
              if (stats.by_status[static_cast<int>(TaskStatus::done)] == kTasks) break;
              const LeaseAsk ask = ask_for(4, 100ms, 60'000, name);
              auto leased = co_await queue_->lease(ask, soon());
              if (!leased.ok()) continue;
              for (const auto& task : *leased.value) {
                // The result names the attempt that produced it.
                AttemptResult result = succeeded(task, naming(task.lease));
                for (int tries = 0; tries < 50; ++tries) {
                  auto settled = co_await queue_->complete(name, one(result), soon());
                  if (settled.ok()) break;
                }
              }
            }
            ++finished_workers;
          },
          asio::detached);
    }
    asio::steady_timer timer(co_await asio::this_coro::executor);
    // Time moves on, so that leases granted by a write whose answer was lost (no worker
    // holds them) expire and their tasks go round again.
    while (finished_workers < 3) {
      now_ += 500;
      timer.expires_after(10ms);
      co_await timer.async_wait(net::use_nothrow);
    }
    store_.set_faults({});
    for (const auto& id : ids) {
      auto record = co_await queue_->get(id, soon());
      if (!record.ok()) {
        ADD_FAILURE() << record.error.message;
        continue;
      }
      EXPECT_EQ(record.value->status, TaskStatus::done) << id;
      EXPECT_EQ(record.value->result, naming(record.value->lease)) << id;
    }
  });
}

}  // namespace
}  // namespace isla::tasks
