// sleep: holds a worker slot for a while, for tests and demonstrations of queueing and
// scaling. It wakes every few milliseconds to honour RunContext (a stop or the deadline).
#include <algorithm>
#include <thread>

#include "tasks/types/builtin_type.hpp"

namespace isla::tasks {

namespace json = boost::json;

namespace {
constexpr std::int64_t kMaxSleepMs = 600'000;
constexpr auto kStopCheckInterval = std::chrono::milliseconds(20);
}  // namespace

std::shared_ptr<const TaskType> sleep_type() {
  BuiltinSpec spec;
  spec.name = "sleep";
  spec.description = "Sleeps for ms milliseconds";
  spec.limits.wall = std::chrono::milliseconds(kMaxSleepMs) + std::chrono::seconds(10);
  spec.limits.cpu = std::chrono::seconds(1);
  spec.limits.memory_bytes = 1ull << 20;
  ParamField ms;
  ms.name = "ms";
  ms.type = ParamType::integer;
  ms.required = true;
  ms.min = 0;
  ms.max = kMaxSleepMs;
  ms.description = "how long to sleep, in milliseconds";
  spec.schema.add(std::move(ms));
  spec.function = [](const json::object& params, const RunContext& context) {
    const auto duration = std::chrono::milliseconds(params.at("ms").to_number<std::int64_t>());
    const auto wake = std::chrono::steady_clock::now() + duration;
    for (auto now = std::chrono::steady_clock::now(); now < wake;
         now = std::chrono::steady_clock::now()) {
      if (context.stop_requested()) return stopped_outcome(context);
      std::this_thread::sleep_for(
          std::min<std::chrono::steady_clock::duration>(wake - now, kStopCheckInterval));
    }
    return TaskOutcome::success(json::object{{"slept_ms", duration.count()}});
  };
  return std::make_shared<BuiltinType>(std::move(spec));
}

}  // namespace isla::tasks
