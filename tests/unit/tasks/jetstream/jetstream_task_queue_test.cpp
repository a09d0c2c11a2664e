// JetStreamTaskQueue on a real nats-server (one node: -js, temp dir) with its records in a
// MemoryStore: idempotency (one task, one message, the duplicate's message dropped), a
// failed attempt back after the embedded queue's backoff, max_attempts and bad parameters
// making dead letters that keep every error, and the MAX_DELIVERIES advisory dead-lettering
// a task JetStream gave up on. Each test ends with the stream empty: no message left behind.
#include "tasks/jetstream/jetstream_task_queue.hpp"

#include <gtest/gtest.h>

#include "core/clock.hpp"
#include "support/memory_store.hpp"
#include "support/nats_cluster.hpp"
#include "support/run_coroutine.hpp"
#include "tasks/jetstream/jetstream_mapping.hpp"

namespace isla::tasks::jetstream {
namespace {

#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

using namespace std::chrono_literals;
using SteadyClock = std::chrono::steady_clock;

AttemptResult succeeded(const TaskRecord& task, const boost::json::value& result) {
  return {task.id, task.lease, true, result, "", "", false};
}
AttemptResult failed_with(const TaskRecord& task, std::string error, bool permanent = false) {
  return {task.id, task.lease, false, {}, "failed", std::move(error), permanent};
}
LeaseAsk ask_for(int max, std::chrono::milliseconds wait, std::int64_t visibility) {
  return {"w1", max, wait, visibility};
}
SubmitSpec spec_of(int max_attempts, const std::string& key) {
  return {"sum", boost::json::object{{"values", boost::json::array{1, 2}}}, 0, max_attempts, key};
}
template <class T>
std::vector<T> one(T value) {
  std::vector<T> values;
  values.push_back(std::move(value));
  return values;
}

class JetStreamTaskQueueTest : public ::testing::Test {
 protected:
  void make_queue(std::int64_t max_deliver = kMaxDeliver) {
    StoreTaskQueueOptions record_options;
    record_options.leadership = [] { return Leadership{true, "127.0.0.9:5235"}; };
    record_options.now_ms = core::wall_clock_ms;
    record_options.tick = 20ms;
    records_ = std::make_shared<StoreTaskQueue>(store_, record_options,
                                                std::make_unique<core::SeededRandom>(7));
    JetStreamQueueOptions options;
    options.servers = {"nats://" + nats_.client_address(0).str()};
    options.stream.replicas = 1;
    options.stream.max_deliver = max_deliver;
    options.leadership = record_options.leadership;
    options.now_ms = core::wall_clock_ms;
    options.tick = 20ms;
    queue_ = std::make_shared<JetStreamTaskQueue>(records_, options);
    stream_ = options.stream;
  }

  void run(std::function<asio::awaitable<void>()> body) {
    queue_->start(io_.get_executor(), 20s);
    testing::run_to_end(io_, std::move(body), [this] { queue_->stop(); });
  }

  // Messages left in the stream (after the acks above have reached the server).
  std::uint64_t messages_left() {
    auto nc =
        connect(std::vector<std::string>{"nats://" + nats_.client_address(0).str()}, "test", 5s);
    auto js = jetstream(nc.get(), 5000ms);
    std::uint64_t left = ~0ULL;
    for (int attempt = 0; attempt < 100; ++attempt) {
      jsStreamInfo* info = nullptr;
      jsErrCode code = static_cast<jsErrCode>(0);
      if (js_GetStreamInfo(&info, js.get(), stream_.stream.c_str(), nullptr, &code) == NATS_OK) {
        left = info->State.Msgs;
        jsStreamInfo_Destroy(info);
        if (left == 0) break;
      }
      std::this_thread::sleep_for(50ms);  // polling a server's state, bounded: not a sync
    }
    return left;
  }

  static store::Deadline soon(std::chrono::milliseconds within = 5s) {
    return SteadyClock::now() + within;
  }

  asio::awaitable<TaskRecord> submit(int max_attempts = 5, std::string key = {}) {
    const SubmitSpec spec = spec_of(max_attempts, key);
    auto submitted = co_await queue_->submit(spec, soon());
    EXPECT_TRUE(submitted.ok()) << submitted.error.message;
    co_return submitted.ok() ? submitted.value->task : TaskRecord{};
  }

  asio::awaitable<std::vector<TaskRecord>> lease(std::chrono::milliseconds wait = 5s,
                                                 std::int64_t visibility = 10'000) {
    LeaseAsk ask = ask_for(1, wait, visibility);
    auto leased = co_await queue_->lease(ask, soon(wait + 2s));
    EXPECT_TRUE(leased.ok()) << leased.error.message;
    if (!leased.ok()) co_return std::vector<TaskRecord>{};
    co_return std::move(*leased.value);
  }

  asio::awaitable<Settled> report(const AttemptResult& attempt) {
    auto settled = co_await queue_->complete(worker_, one(attempt), soon());
    EXPECT_TRUE(settled.ok()) << settled.error.message;
    co_return settled.ok() ? *settled.value : Settled{};
  }

  isla::testing::NatsCluster nats_{1};
  asio::io_context io_;
  testing::MemoryStore store_;
  std::shared_ptr<StoreTaskQueue> records_;
  std::shared_ptr<JetStreamTaskQueue> queue_;
  StreamSpec stream_;
  const std::string worker_ = "w1";
};

TEST_F(JetStreamTaskQueueTest, ATaskGoesThroughJetStreamAndItsMessageIsAckedOnceDone) {
  make_queue();
  run([&]() -> asio::awaitable<void> {
    auto task = co_await submit();
    auto leased = co_await lease();
    EXPECT_EQ(leased.size(), 1u);
    if (leased.empty()) co_return;
    EXPECT_EQ(leased[0].id, task.id);
    EXPECT_EQ(leased[0].status, TaskStatus::running);
    auto settled = co_await report(succeeded(leased[0], 3));
    EXPECT_EQ(settled.done, one(task.id));
    auto again = co_await report(succeeded(leased[0], 4));  // the answer was lost: sent again
    EXPECT_EQ(again.done, one(task.id));
    auto record = co_await queue_->get(task.id, soon());
    EXPECT_EQ(record.value->status, TaskStatus::done);
    EXPECT_EQ(record.value->result, 3);  // recorded once
  });
  EXPECT_EQ(messages_left(), 0u);
}

TEST_F(JetStreamTaskQueueTest, AnIdempotencyKeyNamesTheFirstTaskAndLeavesOneMessage) {
  make_queue();
  run([&]() -> asio::awaitable<void> {
    auto first = co_await submit(5, "order-1");
    const SubmitSpec again = spec_of(5, "order-1");
    auto second = co_await queue_->submit(again, soon());
    EXPECT_TRUE(second.ok() && second.value->duplicate);
    if (!second.ok()) co_return;
    EXPECT_EQ(second.value->task.id, first.id);
    auto leased = co_await lease();
    EXPECT_EQ(leased.size(), 1u);
    if (leased.empty()) co_return;
    EXPECT_EQ(leased[0].id, first.id);
    co_await report(succeeded(leased[0], 3));
    // Nothing else to lease: the duplicate's message was dropped, not run.
    auto none = co_await lease(1500ms);
    EXPECT_TRUE(none.empty());
  });
  EXPECT_EQ(messages_left(), 0u);
}

TEST_F(JetStreamTaskQueueTest, AFailedAttemptComesBackAfterTheBackoffAndTheLastOneIsADeadLetter) {
  make_queue();
  run([&]() -> asio::awaitable<void> {
    auto task = co_await submit(2);
    auto first = co_await lease();
    EXPECT_EQ(first.size(), 1u);
    if (first.empty()) co_return;
    const auto failed_at = SteadyClock::now();
    co_await report(failed_with(first[0], "boom 1"));
    auto second = co_await lease(8s);
    EXPECT_EQ(second.size(), 1u);
    if (second.empty()) co_return;
    // retry_backoff_ms(1): the message came back no sooner than a second later.
    EXPECT_GE(SteadyClock::now() - failed_at, 900ms);
    EXPECT_EQ(second[0].attempts, 2);
    co_await report(failed_with(second[0], "boom 2"));
    auto record = co_await queue_->get(task.id, soon());
    EXPECT_EQ(record.value->status, TaskStatus::dead);
    EXPECT_EQ(record.value->errors.size(), 2u);
    auto none = co_await lease(2500ms);  // no third delivery
    EXPECT_TRUE(none.empty());
  });
  EXPECT_EQ(messages_left(), 0u);
}

TEST_F(JetStreamTaskQueueTest, BadParametersMakeADeadLetterAtOnce) {
  make_queue();
  run([&]() -> asio::awaitable<void> {
    auto task = co_await submit(5);
    auto leased = co_await lease();
    EXPECT_EQ(leased.size(), 1u);
    if (leased.empty()) co_return;
    co_await report(failed_with(leased[0], "values must be numbers", true));
    auto record = co_await queue_->get(task.id, soon());
    EXPECT_EQ(record.value->status, TaskStatus::dead);
    EXPECT_EQ(record.value->attempts, 1);
  });
  EXPECT_EQ(messages_left(), 0u);
}

TEST_F(JetStreamTaskQueueTest, MaxDeliveriesDeadLettersATaskJetStreamGaveUpOn) {
  make_queue(2);  // two deliveries, then JetStream's advisory
  run([&]() -> asio::awaitable<void> {
    auto task = co_await submit(50);
    // Two leases that run out (1 s visibility, no report): each a lease_expired attempt.
    for (int delivery = 1; delivery <= 2; ++delivery) {
      auto leased = co_await lease(10s, 1000);
      EXPECT_EQ(leased.size(), 1u) << "delivery " << delivery;
      if (leased.empty()) co_return;
    }
    const auto give_up = SteadyClock::now() + 20s;
    TaskRecord record;
    while (SteadyClock::now() < give_up) {
      auto read = co_await queue_->get(task.id, soon());
      if (read.ok()) record = *read.value;
      if (record.status == TaskStatus::dead) break;
      asio::steady_timer timer(co_await asio::this_coro::executor, 50ms);
      co_await timer.async_wait(net::use_nothrow);
    }
    EXPECT_EQ(record.status, TaskStatus::dead);
    EXPECT_FALSE(record.errors.empty());
    if (record.errors.empty()) co_return;
    EXPECT_EQ(record.errors.back().kind, "max_deliveries");
    EXPECT_EQ(record.errors.front().kind, "lease_expired");
  });
  EXPECT_EQ(messages_left(), 0u);
}

}  // namespace
}  // namespace isla::tasks::jetstream
