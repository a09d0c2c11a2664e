#pragma once
// The task API's bodies (docs/tasks.md): parsed strictly into the queue's types, each bad
// field named in the error. Pure, for the routes and the fuzzer.
#include <chrono>
#include <string>
#include <string_view>
#include <variant>

#include "tasks/queue/task_queue.hpp"
#include "tasks/types/task_type.hpp"

namespace isla::tasks {

struct ApiError {
  std::string message;
  std::string field;  // empty when the error is not about one field
  std::string rule;
};

struct SubmitBody {
  SubmitSpec spec;
  bool sync = false;
  std::chrono::milliseconds wait{30'000};
};

inline constexpr std::chrono::milliseconds kMaxSyncWait{300'000};
inline constexpr std::chrono::milliseconds kMaxLeaseWait{30'000};
inline constexpr std::size_t kMaxBatch = 256;

// `catalog` checks the type and its parameters.
std::variant<SubmitBody, ApiError> parse_submit(std::string_view body, const TaskCatalog& catalog);
// The same for a body parsed already (a submission forwarded in a batch).
std::variant<SubmitBody, ApiError> parse_submit_value(boost::json::value body,
                                                      const TaskCatalog& catalog);
std::variant<LeaseAsk, ApiError> parse_lease(std::string_view body);
struct ExtendBody {
  std::string worker;
  std::int64_t visibility_ms = 30'000;
  std::vector<LeaseRef> leases;
};
std::variant<ExtendBody, ApiError> parse_extend(std::string_view body);
struct CompleteBody {
  std::string worker;
  std::vector<AttemptResult> results;
};
std::variant<CompleteBody, ApiError> parse_complete(std::string_view body);
std::variant<WorkerReport, ApiError> parse_heartbeat(std::string_view body);
std::variant<std::string, ApiError> parse_bye(std::string_view body);

boost::json::object settled_json(const Settled& settled);
boost::json::object leased_json(const std::vector<TaskRecord>& tasks);

}  // namespace isla::tasks
