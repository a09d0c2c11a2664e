// The JetStream mapping's decisions, without a server: what a delivery means against the
// task's record, what a settled attempt does to its message (the embedded queue's backoff),
// the dead letter of a MAX_DELIVERIES advisory, and the parsers of what comes over NATS.
#include "tasks/jetstream/jetstream_mapping.hpp"

#include <gtest/gtest.h>

#include "tasks/queue/queue_rules.hpp"

namespace isla::tasks::jetstream {
namespace {

TaskRecord record_in(TaskStatus status) {
  TaskRecord record;
  record.id = make_task_id(1'000'000, 7);
  record.type = "sum";
  record.status = status;
  record.attempts = 2;
  record.max_attempts = 5;
  record.worker = "w1";
  record.lease = "token";
  return record;
}

TEST(JetStreamMapping, APriorityIsASubjectAndOnlyTheQueuesSubjectsParse) {
  EXPECT_EQ(priority_subject("isla.tasks", 7), "isla.tasks.p7");
  EXPECT_EQ(priority_subject("isla.tasks", 42), "isla.tasks.p9");  // clamped like the record
  EXPECT_EQ(priority_of_subject("isla.tasks", "isla.tasks.p0"), 0);
  EXPECT_EQ(priority_of_subject("isla.tasks", "isla.tasks.p9"), 9);
  EXPECT_EQ(priority_of_subject("isla.tasks", "isla.tasks.pa"), std::nullopt);
  EXPECT_EQ(priority_of_subject("isla.tasks", "isla.tasks.p10"), std::nullopt);
  EXPECT_EQ(priority_of_subject("isla.tasks", "other.tasks.p1"), std::nullopt);
  EXPECT_EQ(priority_of_subject("isla.tasks", "isla.tasks.x1"), std::nullopt);
}

TEST(JetStreamMapping, AQueuedDueTaskIsLeasedAndAnEarlyDeliveryComesBackWhenDue) {
  auto record = record_in(TaskStatus::queued);
  EXPECT_EQ(judge_delivery(record, 5000, 10), (Judgement{Delivery::lease, 0}));
  record.not_before_ms = 9000;
  EXPECT_EQ(judge_delivery(record, 5000, 10), (Judgement{Delivery::nak, 4000}));
}

TEST(JetStreamMapping, AFinishedTasksMessageIsAckedSoItNeverRunsAgain) {
  for (auto status : {TaskStatus::done, TaskStatus::dead, TaskStatus::cancelled}) {
    EXPECT_EQ(judge_delivery(record_in(status), 5000, 10), (Judgement{Delivery::ack, 0}));
  }
}

TEST(JetStreamMapping, ATaskRunningElsewhereComesBackAfterItsLease) {
  auto record = record_in(TaskStatus::running);
  record.lease_until_ms = 8000;
  const auto judged = judge_delivery(record, 5000, 10);
  EXPECT_EQ(judged.action, Delivery::nak);
  EXPECT_GT(judged.delay_ms, 3000);
  record.lease_until_ms = 1000;  // expired: the reaper makes it a retry soon
  EXPECT_EQ(judge_delivery(record, 5000, 10).action, Delivery::nak);
}

TEST(JetStreamMapping, AMessageWithoutARecordWaitsThenIsTerminated) {
  EXPECT_EQ(judge_delivery(std::nullopt, 5000, 100).action, Delivery::nak);
  EXPECT_EQ(judge_delivery(std::nullopt, 5000, kOrphanAfterMs).action, Delivery::term);
}

TEST(JetStreamMapping, AFailedAttemptIsRedeliveredAfterTheEmbeddedQueuesBackoff) {
  for (int attempts = 1; attempts < 5; ++attempts) {
    EXPECT_EQ(after_attempt(false, false, attempts, 5),
              (Judgement{Delivery::nak, retry_backoff_ms(attempts)}));
  }
  EXPECT_EQ(after_attempt(false, false, 1, 5).delay_ms, 1000);
  EXPECT_EQ(after_attempt(false, false, 3, 5).delay_ms, 4000);
  EXPECT_EQ(after_expired_lease(2), (Judgement{Delivery::nak, 2000}));
}

TEST(JetStreamMapping, SuccessLastAttemptAndBadParametersAckTheMessage) {
  EXPECT_EQ(after_attempt(true, false, 1, 5).action, Delivery::ack);
  EXPECT_EQ(after_attempt(false, false, 5, 5).action, Delivery::ack);  // dead: no retry
  EXPECT_EQ(after_attempt(false, true, 1, 5).action, Delivery::ack);   // permanent
}

TEST(JetStreamMapping, MaxDeliveriesMakesADeadLetterKeepingEveryError) {
  auto record = record_in(TaskStatus::running);
  record.errors.push_back({1, 100, "w0", "failed", "boom"});
  auto dead = dead_letter(record, 250, 9000);
  ASSERT_TRUE(dead);
  EXPECT_EQ(dead->status, TaskStatus::dead);
  EXPECT_EQ(dead->finished_ms, 9000);
  ASSERT_EQ(dead->errors.size(), 2u);
  EXPECT_EQ(dead->errors[0].error, "boom");
  EXPECT_EQ(dead->errors[1].kind, "max_deliveries");
  EXPECT_NE(dead->errors[1].error.find("250"), std::string::npos);
  // The running attempt's late report must read as lost, not as recorded.
  EXPECT_FALSE(already_settled(*dead, "token"));
  EXPECT_FALSE(record_success(*dead, "token", 1, 9500));
  EXPECT_FALSE(dead_letter(record_in(TaskStatus::done), 250, 9000));
}

TEST(JetStreamMapping, OnlyAMaxDeliveriesAdvisoryParses) {
  const auto parsed = parse_max_deliveries(
      R"({"type":"io.nats.jetstream.advisory.v1.max_deliver","id":"x","stream":"S",)"
      R"("consumer":"C","stream_seq":42,"deliveries":250})");
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->stream_seq, 42u);
  EXPECT_EQ(parsed->deliveries, 250);
  EXPECT_FALSE(parse_max_deliveries("not json"));
  EXPECT_FALSE(parse_max_deliveries(R"({"type":"io.nats.jetstream.advisory.v1.nak",)"
                                    R"("stream_seq":1,"deliveries":1})"));
  EXPECT_FALSE(parse_max_deliveries(R"({"type":"io.nats.jetstream.advisory.v1.max_deliver",)"
                                    R"("stream_seq":-1,"deliveries":1})"));
  EXPECT_FALSE(parse_max_deliveries(R"({"type":"io.nats.jetstream.advisory.v1.max_deliver",)"
                                    R"("stream_seq":"1","deliveries":1})"));
  EXPECT_FALSE(parse_max_deliveries("[]"));
}

TEST(JetStreamMapping, ServerListsParseAndBadOnesSayWhy) {
  std::string error;
  EXPECT_EQ(parse_server_list("nats://127.0.0.1:4222,10.0.0.2:4223", error),
            (std::vector<std::string>{"nats://127.0.0.1:4222", "nats://10.0.0.2:4223"}));
  for (const char* bad : {"", "nats://", "nats://host", "nats://host:0", "nats://host:99999",
                          "host:12x", "a b:1", "nats://h:1,", ",nats://h:1"}) {
    error.clear();
    EXPECT_TRUE(parse_server_list(bad, error).empty()) << bad;
    EXPECT_FALSE(error.empty()) << bad;
  }
}

}  // namespace
}  // namespace isla::tasks::jetstream
