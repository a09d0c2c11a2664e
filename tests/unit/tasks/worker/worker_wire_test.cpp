// The Worker API's bodies: what the worker sends matches docs/tasks.md, and what it accepts
// from a gateway is checked, a bad entry skipped rather than trusted.
#include "tasks/worker/worker_wire.hpp"

#include <gtest/gtest.h>

namespace isla::tasks::wire {
namespace {

namespace json = boost::json;
using std::chrono::milliseconds;

TEST(WorkerWire, BodiesCarryTheFieldsTheApiNames) {
  const auto lease =
      json::parse(lease_body("w-1", {3, milliseconds(20'000), milliseconds(30'000)}));
  EXPECT_EQ(lease,
            json::parse(R"({"worker":"w-1","max":3,"wait_ms":20000,"visibility_ms":30000})"));

  const auto extend = json::parse(extend_body("w-1", {{"a", "la"}}, milliseconds(30'000)));
  EXPECT_EQ(
      extend,
      json::parse(R"({"worker":"w-1","visibility_ms":30000,"leases":[{"id":"a","lease":"la"}]})"));

  std::vector<TaskResult> results{
      {{"a", "la"}, TaskOutcome::success(json::object{{"count", 168}})},
      {{"b", "lb"}, TaskOutcome::failure_of(FailureKind::limit_wall, "took too long")}};
  EXPECT_EQ(json::parse(complete_body("w-1", results)), json::parse(R"({"worker":"w-1","results":[
              {"id":"a","lease":"la","ok":true,"result":{"count":168}},
              {"id":"b","lease":"lb","ok":false,"kind":"limit_wall","error":"took too long"}]})"));

  WorkerStats stats{4, 2, 10, 1, true};
  EXPECT_EQ(json::parse(heartbeat_body("w-1", stats, 42)),
            json::parse(R"({"worker":"w-1","concurrency":4,"busy":2,"completed":10,"failed":1,
                            "draining":true,"pid":42})"));
}

TEST(WorkerWire, ALeaseAnswerKeepsGoodTasksAndSkipsBadOnes) {
  std::string error;
  auto answer = parse_lease_answer(R"({"tasks":[
      {"id":"a","type":"primes","params":{"limit":10},"attempt":2,"lease":"la","lease_until_ms":99},
      {"id":"b","type":"primes","params":{}},
      {"id":"","type":"primes","lease":"x"},
      {"id":"c","type":7,"lease":"lc"},
      42]})",
                                   &error);
  ASSERT_TRUE(answer) << error;
  ASSERT_EQ(answer->tasks.size(), 1u);
  const auto& task = answer->tasks[0];
  EXPECT_EQ(task.id, "a");
  EXPECT_EQ(task.type, "primes");
  EXPECT_EQ(task.params, json::parse(R"({"limit":10})"));
  EXPECT_EQ(task.attempt, 2);
  EXPECT_EQ(task.lease, "la");
  EXPECT_EQ(task.lease_until_ms, 99);
  EXPECT_EQ(answer->skipped.size(), 4u);
}

TEST(WorkerWire, AnswersThatAreNotWhatTheApiPromisesAreErrors) {
  std::string error;
  EXPECT_FALSE(parse_lease_answer("not json", &error));
  EXPECT_NE(error.find("not JSON"), std::string::npos);
  EXPECT_FALSE(parse_lease_answer("[]", &error));
  EXPECT_FALSE(parse_lease_answer(R"({"tasks":{}})", &error));
  EXPECT_FALSE(parse_id_verdicts("nope", "recorded", &error));
  EXPECT_FALSE(parse_heartbeat_answer("", &error));
  const std::string too_long(kMaxTokenBytes + 1, 'x');
  auto answer = parse_lease_answer(
      R"({"tasks":[{"id":")" + too_long + R"(","type":"t","lease":"l"}]})", &error);
  ASSERT_TRUE(answer);
  EXPECT_TRUE(answer->tasks.empty());
}

TEST(WorkerWire, VerdictsAndDrainAreRead) {
  std::string error;
  auto verdicts = parse_id_verdicts(R"({"recorded":["a","b"],"lost":["c",3]})", "recorded", &error);
  ASSERT_TRUE(verdicts);
  EXPECT_EQ(verdicts->accepted, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(verdicts->lost, (std::vector<std::string>{"c"}));
  EXPECT_EQ(parse_heartbeat_answer(R"({"drain":true})", &error), true);
  EXPECT_EQ(parse_heartbeat_answer(R"({})", &error), false);
  EXPECT_EQ(parse_heartbeat_answer(R"({"drain":"yes"})", &error), false);
}

}  // namespace
}  // namespace isla::tasks::wire
