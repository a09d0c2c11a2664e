#pragma once
// A task as the queue keeps it in the island store: one JSON record per task, the whole
// truth about it (status, attempts, every error, the result, the current lease). Strict on
// the way in: a record the queue did not write is refused, not half-read.
#include <boost/json.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace isla::tasks {

enum class TaskStatus { queued, running, done, dead, cancelled };
const char* to_string(TaskStatus status);
std::optional<TaskStatus> task_status_from(std::string_view text);
bool is_terminal(TaskStatus status);

struct AttemptError {
  int attempt = 0;
  std::int64_t at_ms = 0;
  std::string worker;
  std::string kind;  // tasks::FailureKind's name
  std::string error;
  friend bool operator==(const AttemptError&, const AttemptError&) = default;
};

struct TaskRecord {
  std::string id;
  std::string type;
  boost::json::value params;
  TaskStatus status = TaskStatus::queued;
  int priority = 0;  // 0-9, higher first
  int attempts = 0;  // leases granted so far
  int max_attempts = 5;
  std::int64_t submitted_ms = 0;
  std::int64_t not_before_ms = 0;  // a retry waits until then
  std::int64_t started_ms = 0;     // the current (or last) attempt's lease
  std::int64_t finished_ms = 0;
  std::string worker;  // the current (or last) attempt's worker
  std::string lease;   // the current (or last reported) attempt's token
  std::int64_t lease_until_ms = 0;
  boost::json::value result;  // when done
  std::vector<AttemptError> errors;
  std::string idempotency_key;
  friend bool operator==(const TaskRecord&, const TaskRecord&) = default;
};

inline constexpr int kMaxPriority = 9;
inline constexpr int kMaxAttemptsLimit = 100;

// The stored form, lease token included.
std::string encode_record(const TaskRecord& record);
// nullopt for anything encode_record did not produce (wrong types, missing fields, bad ids).
std::optional<TaskRecord> decode_record(std::string_view bytes);
// What clients see: the stored form without the lease token (only the worker holding the
// lease may complete the attempt, and it learnt the token from its lease).
boost::json::object public_json(const TaskRecord& record);

// Task ids: 12 hex digits of the submit time in ms and 8 random ones, so that ids sort by
// submission and listing by id pages in that order.
std::string make_task_id(std::int64_t now_ms, std::uint64_t random);
bool is_task_id(std::string_view text);

}  // namespace isla::tasks
