#include "tasks/queue/queue_rules.hpp"

#include <gtest/gtest.h>

namespace isla::tasks {
namespace {

TaskRecord queued(int max_attempts = 3) {
  SubmitSpec spec{"sum", boost::json::object{{"values", boost::json::array{1, 2}}}, 0, max_attempts,
                  ""};
  return new_task(spec, make_task_id(0, 1), 100);
}

TEST(QueueRules, BackoffDoublesFromOneSecondUpToAMinute) {
  EXPECT_EQ(retry_backoff_ms(1), 1000);
  EXPECT_EQ(retry_backoff_ms(2), 2000);
  EXPECT_EQ(retry_backoff_ms(3), 4000);
  EXPECT_EQ(retry_backoff_ms(4), 8000);
  EXPECT_EQ(retry_backoff_ms(7), 60'000);
  EXPECT_EQ(retry_backoff_ms(50), 60'000);
}

TEST(QueueRules, ALeasedTaskRecordsTheResultOfTheLeaseHolderOnly) {
  auto leased = grant_lease(queued(), "w1", "token-1", 200, 30'000);
  EXPECT_EQ(leased.status, TaskStatus::running);
  EXPECT_EQ(leased.attempts, 1);
  EXPECT_EQ(leased.lease_until_ms, 30'200);
  EXPECT_FALSE(record_success(leased, "token-0", 42, 300));
  auto done = record_success(leased, "token-1", 42, 300);
  ASSERT_TRUE(done);
  EXPECT_EQ(done->status, TaskStatus::done);
  EXPECT_EQ(done->result, 42);
  EXPECT_EQ(done->finished_ms, 300);
  // The same report again (its answer was lost) is recognised, not recorded twice.
  EXPECT_TRUE(already_settled(*done, "token-1"));
  EXPECT_FALSE(record_success(*done, "token-1", 43, 400));
}

TEST(QueueRules, FailuresRetryWithBackoffThenGoToTheDeadLetterListWithEveryError) {
  TaskRecord record = queued(3);
  std::int64_t now = 1000;
  for (int attempt = 1; attempt <= 3; ++attempt) {
    ASSERT_TRUE(is_leasable(record, now)) << attempt;
    record = grant_lease(record, "w1", "t" + std::to_string(attempt), now, 10'000);
    auto failed = record_failure(record, "t" + std::to_string(attempt), "failed",
                                 "boom " + std::to_string(attempt), false, now + 10);
    ASSERT_TRUE(failed);
    record = *failed;
    if (attempt < 3) {
      EXPECT_EQ(record.status, TaskStatus::queued);
      EXPECT_EQ(record.not_before_ms, now + 10 + retry_backoff_ms(attempt));
      EXPECT_FALSE(is_leasable(record, record.not_before_ms - 1));
      now = record.not_before_ms;
    }
  }
  EXPECT_EQ(record.status, TaskStatus::dead);
  ASSERT_EQ(record.errors.size(), 3u);
  EXPECT_EQ(record.errors[2].error, "boom 3");
  EXPECT_EQ(record.errors[0].attempt, 1);
}

TEST(QueueRules, BadParametersAreDeadAtOnce) {
  auto leased = grant_lease(queued(5), "w1", "t", 0, 1000);
  auto failed = record_failure(leased, "t", "bad_params", "limit: too big", true, 1);
  ASSERT_TRUE(failed);
  EXPECT_EQ(failed->status, TaskStatus::dead);
}

TEST(QueueRules, AnExpiredLeaseIsAFailedAttemptAndTheLateReportIsLost) {
  auto leased = grant_lease(queued(), "w1", "t", 0, 1000);
  EXPECT_FALSE(expire_lease(leased, 1000));  // not past the deadline yet
  auto expired = expire_lease(leased, 1001);
  ASSERT_TRUE(expired);
  EXPECT_EQ(expired->status, TaskStatus::queued);
  ASSERT_EQ(expired->errors.size(), 1u);
  EXPECT_EQ(expired->errors[0].kind, "lease_expired");
  EXPECT_FALSE(already_settled(*expired, "t"));
  EXPECT_FALSE(record_success(*expired, "t", 1, 1002));
}

TEST(QueueRules, ExtendingNeedsTheLeaseAndNeverShortensIt) {
  auto leased = grant_lease(queued(), "w1", "t", 0, 10'000);
  EXPECT_FALSE(extend_lease(leased, "other", 5, 10'000));
  auto extended = extend_lease(leased, "t", 5000, 30'000);
  ASSERT_TRUE(extended);
  EXPECT_EQ(extended->lease_until_ms, 35'000);
  EXPECT_EQ(extend_lease(*extended, "t", 5001, 1000)->lease_until_ms, 35'000);
}

TEST(QueueRules, OnlyAQueuedTaskCanBeCancelled) {
  auto cancelled = cancel(queued(), 5);
  ASSERT_TRUE(cancelled);
  EXPECT_EQ(cancelled->status, TaskStatus::cancelled);
  EXPECT_FALSE(is_leasable(*cancelled, 10));
  EXPECT_FALSE(cancel(grant_lease(queued(), "w", "t", 0, 1000), 5));
}

TEST(QueueRules, PriorityAndAttemptsAreClampedToTheirRanges) {
  SubmitSpec spec{"sum", {}, 50, 1000, ""};
  auto record = new_task(spec, make_task_id(0, 0), 0);
  EXPECT_EQ(record.priority, kMaxPriority);
  EXPECT_EQ(record.max_attempts, kMaxAttemptsLimit);
}

}  // namespace
}  // namespace isla::tasks
