// ExternalTaskType over a scripted sandbox: what it asks the sandbox to run, and what each
// way a sandboxed run can end means to the queue.
#include <gtest/gtest.h>

#include "tasks/types/external_task.hpp"

namespace isla::tasks {
namespace {

namespace json = boost::json;

class ScriptedSandbox final : public Sandbox {
 public:
  explicit ScriptedSandbox(SandboxResult answer) : answer_(std::move(answer)) {}
  SandboxResult run(const SandboxRequest& request, const RunContext&) override {
    requests.push_back(request);
    return answer_;
  }
  std::vector<SandboxRequest> requests;

 private:
  SandboxResult answer_;
};

TaskManifest manifest() {
  return parse_task_manifest(R"(
name = "echo"
command = ["echo-program", "--fast"]
[limits]
wall_ms = 3000
memory_mb = 64
[params.text]
type = "string"
required = true
[params.times]
type = "integer"
min = 1
max = 5
default = 2
)",
                             "echo.toml", "/srv/tasks");
}

SandboxResult exited(int code, std::string output, std::string error_tail = {}) {
  SandboxResult result;
  result.end = SandboxEnd::exited;
  result.exit_code = code;
  result.output = std::move(output);
  result.error_tail = std::move(error_tail);
  return result;
}

TEST(ExternalTask, RunsTheProgramWithParametersAndDefaultsOnStdin) {
  auto sandbox = std::make_shared<ScriptedSandbox>(exited(0, R"({"echoed": "hi"})"));
  const ExternalTaskType type(manifest(), sandbox);
  const auto outcome = type.run(json::object{{"text", "hi"}}, {});
  ASSERT_TRUE(outcome.ok) << outcome.error;
  EXPECT_EQ(outcome.result, json::parse(R"({"echoed": "hi"})"));
  ASSERT_EQ(sandbox->requests.size(), 1u);
  const auto& request = sandbox->requests[0];
  EXPECT_EQ(request.argv, (std::vector<std::string>{"/srv/tasks/echo-program", "--fast"}));
  EXPECT_EQ(request.read_only, std::vector<std::string>{"/srv/tasks"});
  EXPECT_EQ(json::parse(request.input), json::parse(R"({"text": "hi", "times": 2})"));
  EXPECT_EQ(request.limits.wall.count(), 3000);
  EXPECT_EQ(request.limits.memory_bytes, 64ull << 20);
}

TEST(ExternalTask, BadParametersNeverReachTheSandbox) {
  auto sandbox = std::make_shared<ScriptedSandbox>(exited(0, "{}"));
  const ExternalTaskType type(manifest(), sandbox);
  EXPECT_EQ(type.validate(json::parse(R"({"text": "a", "times": 9})"))[0].message(),
            "times: must be an integer in [1, 5]");
  const auto outcome = type.run(json::object{{"times", 1}}, {});
  EXPECT_EQ(outcome.failure, FailureKind::bad_params);
  EXPECT_EQ(outcome.error, "text: is required");
  EXPECT_TRUE(sandbox->requests.empty());
}

TEST(SandboxOutcome, EachEndingMapsToItsFailureKind) {
  struct Case {
    SandboxResult result;
    bool ok;
    FailureKind kind;
    const char* error_part;
  };
  const auto ended = [](SandboxEnd end, std::string detail, int signal = 0) {
    SandboxResult result;
    result.end = end;
    result.detail = std::move(detail);
    result.signal = signal;
    result.error_tail = "last words";
    return result;
  };
  const Case cases[] = {
      {exited(0, "[1, 2]"), true, FailureKind::failed, ""},
      {exited(0, " 42\n"), true, FailureKind::failed, ""},
      {exited(0, "no json", "oops"), false, FailureKind::failed,
       "its output is not JSON; stderr: oops"},
      {exited(0, ""), false, FailureKind::failed, "its output is not JSON"},
      {exited(3, R"({"error": "no such word"})"), false, FailureKind::failed,
       "exited with code 3: no such word"},
      {exited(2, "[]"), false, FailureKind::failed, "exited with code 2: []"},
      {exited(1, "", "panic"), false, FailureKind::crashed,
       "exited with code 1 without a result; stderr: panic"},
      {ended(SandboxEnd::signalled, "", 11), false, FailureKind::crashed,
       "died of signal 11 (SIGSEGV); stderr: last words"},
      {ended(SandboxEnd::limit_cpu, "exceeded its CPU time limit"), false, FailureKind::limit_cpu,
       "exceeded its CPU time limit"},
      {ended(SandboxEnd::limit_memory, "exceeded its memory limit"), false,
       FailureKind::limit_memory, "exceeded its memory limit; stderr: last words"},
      {ended(SandboxEnd::limit_wall, "exceeded its wall-clock limit"), false,
       FailureKind::limit_wall, "wall-clock"},
      {ended(SandboxEnd::output_too_large, "wrote more than its output limit"), false,
       FailureKind::failed, "output limit"},
      {ended(SandboxEnd::cancelled, "the run was asked to stop"), false, FailureKind::cancelled,
       "asked to stop"},
      {ended(SandboxEnd::unavailable, "bubblewrap is not installed"), false, FailureKind::failed,
       "bubblewrap is not installed"},
  };
  for (const auto& test : cases) {
    const auto outcome = outcome_of(test.result);
    EXPECT_EQ(outcome.ok, test.ok) << test.error_part;
    if (test.ok) continue;
    EXPECT_EQ(outcome.failure, test.kind) << test.error_part;
    EXPECT_NE(outcome.error.find(test.error_part), std::string::npos)
        << outcome.error << " lacks " << test.error_part;
  }
}

}  // namespace
}  // namespace isla::tasks
