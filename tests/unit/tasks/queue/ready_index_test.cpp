#include "tasks/queue/ready_index.hpp"

#include <gtest/gtest.h>

#include "tasks/queue/queue_rules.hpp"

namespace isla::tasks {
namespace {

TaskRecord task(std::int64_t at, int priority = 0, std::string type = "sum") {
  SubmitSpec spec{std::move(type), {}, priority, 5, ""};
  return new_task(spec, make_task_id(at, 0), at);
}

TEST(ReadyIndex, PicksHigherPriorityFirstThenOlder) {
  ReadyIndex index;
  auto old_low = task(1, 0), new_high = task(3, 9), old_high = task(2, 9);
  index.upsert(old_low, 1);
  index.upsert(new_high, 2);
  index.upsert(old_high, 3);
  auto picked = index.pick(10, 3, {});
  ASSERT_EQ(picked.size(), 3u);
  EXPECT_EQ(picked[0], old_high.id);
  EXPECT_EQ(picked[1], new_high.id);
  EXPECT_EQ(picked[2], old_low.id);
}

TEST(ReadyIndex, AReservedTaskIsNotPickedTwiceUntilReleasedOrChanged) {
  ReadyIndex index;
  auto a = task(1);
  index.upsert(a, 1);
  EXPECT_EQ(index.pick(10, 5, {}).size(), 1u);
  EXPECT_TRUE(index.pick(10, 5, {}).empty());
  index.release(a.id);
  EXPECT_EQ(index.pick(10, 5, {}).size(), 1u);
  // The lease write comes back through the watch: the task is running, not ready.
  index.upsert(grant_lease(a, "w", "t", 10, 1000), 2);
  EXPECT_TRUE(index.pick(10, 5, {}).empty());
  EXPECT_EQ(index.count(TaskStatus::running), 1u);
  EXPECT_EQ(index.count(TaskStatus::queued), 0u);
}

TEST(ReadyIndex, OlderRevisionsAreIgnored) {
  ReadyIndex index;
  auto a = task(1);
  index.upsert(grant_lease(a, "w", "t", 0, 1000), 5);
  index.upsert(a, 4);  // a late copy of the queued record
  EXPECT_EQ(index.count(TaskStatus::running), 1u);
  EXPECT_TRUE(index.pick(10, 5, {}).empty());
}

TEST(ReadyIndex, ARetryWaitsForItsTime) {
  ReadyIndex index;
  auto a = task(0);
  a.not_before_ms = 5000;
  index.upsert(a, 1);
  EXPECT_TRUE(index.pick(4999, 1, {}).empty());
  EXPECT_EQ(index.next_due(), 5000);
  EXPECT_EQ(index.pick(5000, 1, {}).size(), 1u);
}

TEST(ReadyIndex, PerTypeLimitsCountRunningAndReservedTasks) {
  ReadyIndex index;
  auto running = task(0, 0, "mine");
  index.upsert(grant_lease(running, "w", "t", 0, 1000), 1);
  for (int i = 1; i <= 4; ++i) index.upsert(task(i, 0, "mine"), 1 + i);
  index.upsert(task(10, 0, "sum"), 10);
  auto limit = [](std::string_view type) { return type == "mine" ? 2 : 0; };
  auto picked = index.pick(100, 10, limit);
  ASSERT_EQ(picked.size(), 2u);  // one more mine (one runs already) and the sum
  EXPECT_TRUE(index.pick(100, 10, limit).empty());
}

TEST(ReadyIndex, ExpiredLeasesAreFoundOnceEach) {
  ReadyIndex index;
  auto a = task(0);
  index.upsert(grant_lease(a, "w", "t", 0, 1000), 1);
  EXPECT_TRUE(index.expired(1000, 10).empty());
  EXPECT_EQ(index.expired(1001, 10), std::vector<std::string>{a.id});
  EXPECT_TRUE(index.expired(1001, 10).empty());
}

TEST(ReadyIndex, DeletesForgetTasks) {
  ReadyIndex index;
  auto a = task(0);
  index.upsert(a, 1);
  index.erase(a.id, 2);
  EXPECT_EQ(index.size(), 0u);
  EXPECT_EQ(index.count(TaskStatus::queued), 0u);
  EXPECT_TRUE(index.pick(10, 1, {}).empty());
}

}  // namespace
}  // namespace isla::tasks
