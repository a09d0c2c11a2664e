// Fuzzes every compiled-in task type's parameter check (tasks/types): arbitrary JSON must
// never crash validate(); every refusal names a field and a rule; what validates must run
// without throwing and without being refused as bad parameters at run time. Long types run
// against a deadline a few milliseconds away, so they end (as limit_wall) instead of computing
// for minutes.
#include <boost/json.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "fuzz_json.hpp"
#include "invariant.hpp"
#include "tasks/types/task_type.hpp"

namespace json = boost::json;
namespace tasks = isla::tasks;

namespace {

const tasks::TaskCatalog& catalog() {
  static const tasks::TaskCatalog instance = [] {
    tasks::TaskCatalog built;
    tasks::add_builtin_types(built);
    return built;
  }();
  return instance;
}

void check(const tasks::TaskType& type, const json::value& params) {
  const auto errors = type.validate(params);
  for (const auto& error : errors) {
    if (error.field.empty() || error.rule.empty()) fail("a refusal without a field or rule");
  }
  if (!errors.empty()) return;
  tasks::RunContext context;
  context.deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(5);
  const auto outcome = type.run(params.as_object(), context);
  if (outcome.ok) {
    (void)json::serialize(outcome.result);
    return;
  }
  if (outcome.error.empty()) fail("a failure without an error");
  if (outcome.failure == tasks::FailureKind::bad_params) fail("run refused validated params");
  if (outcome.failure != tasks::FailureKind::limit_wall) fail("a builtin failed on good params");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto value = parse_fuzz_json(fuzz_text(data, size));
  if (!value) return 0;
  for (const auto& type : catalog().all()) check(*type, *value);
  return 0;
}
