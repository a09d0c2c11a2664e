#include "tasks/queue/task_record.hpp"

#include <gtest/gtest.h>

namespace isla::tasks {
namespace {

TaskRecord sample() {
  TaskRecord record;
  record.id = make_task_id(1'700'000'000'000, 0xdeadbeef);
  record.type = "primes";
  record.params = boost::json::object{{"limit", 1000}};
  record.status = TaskStatus::running;
  record.priority = 7;
  record.attempts = 2;
  record.max_attempts = 4;
  record.worker = "w-1";
  record.lease = "0123456789abcdef";
  record.lease_until_ms = 5;
  record.errors.push_back({1, 3, "w-0", "crashed", "exit 139"});
  record.idempotency_key = "order-17";
  return record;
}

TEST(TaskRecord, RoundTripsThroughItsStoredForm) {
  const TaskRecord record = sample();
  auto decoded = decode_record(encode_record(record));
  ASSERT_TRUE(decoded);
  EXPECT_EQ(*decoded, record);
}

TEST(TaskRecord, ClientsNeverSeeTheLeaseToken) {
  auto json = public_json(sample());
  EXPECT_FALSE(json.contains("lease"));
  EXPECT_EQ(json.at("status"), "running");
  EXPECT_EQ(json.at("errors").as_array().size(), 1u);
}

TEST(TaskRecord, RefusesWhatTheQueueDidNotWrite) {
  auto good = boost::json::parse(encode_record(sample())).as_object();
  const std::vector<std::pair<std::string, boost::json::value>> breakages = {
      {"id", "not-an-id"}, {"status", "sleeping"},
      {"priority", 10},    {"attempts", -1},
      {"max_attempts", 0}, {"submitted_ms", "yesterday"},
      {"errors", "none"},  {"lease", 7},
      {"worker", nullptr}, {"errors", boost::json::array{boost::json::object{{"attempt", 1}}}}};
  for (const auto& [field, value] : breakages) {
    auto broken = good;
    broken[field] = value;
    EXPECT_FALSE(decode_record(boost::json::serialize(broken))) << field;
  }
  for (const char* field : {"id", "type", "params", "result", "errors", "lease"}) {
    auto broken = good;
    broken.erase(field);
    EXPECT_FALSE(decode_record(boost::json::serialize(broken))) << field;
  }
  EXPECT_FALSE(decode_record("[]"));
  EXPECT_FALSE(decode_record("{"));
  EXPECT_FALSE(decode_record(""));
}

TEST(TaskRecord, IdsSortBySubmissionTime) {
  const auto earlier = make_task_id(1000, 0xffffffff);
  const auto later = make_task_id(1001, 0);
  EXPECT_LT(earlier, later);
  EXPECT_TRUE(is_task_id(earlier));
  EXPECT_FALSE(is_task_id("0123456789ABCDEF0123"));  // upper case
  EXPECT_FALSE(is_task_id("0123"));
}

}  // namespace
}  // namespace isla::tasks
