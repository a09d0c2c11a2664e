#include "tasks/queue/task_record.hpp"

#include <fmt/format.h>

#include <array>
#include <utility>

namespace isla::tasks {

namespace json = boost::json;

namespace {

constexpr std::array<std::pair<TaskStatus, const char*>, 5> kStatusNames{{
    {TaskStatus::queued, "queued"},
    {TaskStatus::running, "running"},
    {TaskStatus::done, "done"},
    {TaskStatus::dead, "dead"},
    {TaskStatus::cancelled, "cancelled"},
}};

json::object to_object(const TaskRecord& record) {
  json::array errors;
  for (const auto& error : record.errors) {
    errors.push_back(json::object{{"attempt", error.attempt},
                                  {"at_ms", error.at_ms},
                                  {"worker", error.worker},
                                  {"kind", error.kind},
                                  {"error", error.error}});
  }
  json::object out{{"id", record.id},
                   {"type", record.type},
                   {"params", record.params},
                   {"status", to_string(record.status)},
                   {"priority", record.priority},
                   {"attempts", record.attempts},
                   {"max_attempts", record.max_attempts},
                   {"submitted_ms", record.submitted_ms},
                   {"not_before_ms", record.not_before_ms},
                   {"started_ms", record.started_ms},
                   {"finished_ms", record.finished_ms},
                   {"worker", record.worker},
                   {"lease_until_ms", record.lease_until_ms},
                   {"result", record.result},
                   {"errors", std::move(errors)},
                   {"idempotency_key", record.idempotency_key}};
  return out;
}

// Field readers that refuse a wrong type instead of converting it.
bool read(const json::object& object, std::string_view key, std::string& out) {
  const auto* value = object.if_contains(key);
  if (value == nullptr || !value->is_string()) return false;
  out = std::string(value->as_string());
  return true;
}

bool read(const json::object& object, std::string_view key, std::int64_t& out) {
  const auto* value = object.if_contains(key);
  if (value == nullptr || !value->is_int64()) {
    if (value != nullptr && value->is_uint64() && value->as_uint64() <= INT64_MAX) {
      out = static_cast<std::int64_t>(value->as_uint64());
      return true;
    }
    return false;
  }
  out = value->as_int64();
  return true;
}

bool read(const json::object& object, std::string_view key, int& out, int low, int high) {
  std::int64_t wide = 0;
  if (!read(object, key, wide) || wide < low || wide > high) return false;
  out = static_cast<int>(wide);
  return true;
}

std::optional<AttemptError> read_error(const json::value& value) {
  if (!value.is_object()) return std::nullopt;
  const auto& object = value.as_object();
  AttemptError error;
  if (!read(object, "attempt", error.attempt, 0, kMaxAttemptsLimit) ||
      !read(object, "at_ms", error.at_ms) || !read(object, "worker", error.worker) ||
      !read(object, "kind", error.kind) || !read(object, "error", error.error)) {
    return std::nullopt;
  }
  return error;
}

}  // namespace

const char* to_string(TaskStatus status) {
  for (const auto& [value, name] : kStatusNames) {
    if (value == status) return name;
  }
  return "queued";
}

std::optional<TaskStatus> task_status_from(std::string_view text) {
  for (const auto& [value, name] : kStatusNames) {
    if (text == name) return value;
  }
  return std::nullopt;
}

bool is_terminal(TaskStatus status) {
  return status == TaskStatus::done || status == TaskStatus::dead ||
         status == TaskStatus::cancelled;
}

std::string encode_record(const TaskRecord& record) {
  json::object out = to_object(record);
  out["lease"] = record.lease;
  return json::serialize(out);
}

std::optional<TaskRecord> decode_record(std::string_view bytes) {
  json::error_code ec;
  json::value parsed = json::parse(bytes, ec);
  if (ec || !parsed.is_object()) return std::nullopt;
  const auto& object = parsed.as_object();
  TaskRecord record;
  std::string status;
  if (!read(object, "id", record.id) || !is_task_id(record.id) ||
      !read(object, "type", record.type) || !read(object, "status", status) ||
      !read(object, "priority", record.priority, 0, kMaxPriority) ||
      !read(object, "attempts", record.attempts, 0, kMaxAttemptsLimit) ||
      !read(object, "max_attempts", record.max_attempts, 1, kMaxAttemptsLimit) ||
      !read(object, "submitted_ms", record.submitted_ms) ||
      !read(object, "not_before_ms", record.not_before_ms) ||
      !read(object, "started_ms", record.started_ms) ||
      !read(object, "finished_ms", record.finished_ms) || !read(object, "worker", record.worker) ||
      !read(object, "lease", record.lease) ||
      !read(object, "lease_until_ms", record.lease_until_ms) ||
      !read(object, "idempotency_key", record.idempotency_key)) {
    return std::nullopt;
  }
  auto parsed_status = task_status_from(status);
  const auto* params = object.if_contains("params");
  const auto* result = object.if_contains("result");
  const auto* errors = object.if_contains("errors");
  if (!parsed_status || params == nullptr || result == nullptr || errors == nullptr ||
      !errors->is_array()) {
    return std::nullopt;
  }
  record.status = *parsed_status;
  record.params = *params;
  record.result = *result;
  for (const auto& value : errors->as_array()) {
    auto error = read_error(value);
    if (!error) return std::nullopt;
    record.errors.push_back(std::move(*error));
  }
  return record;
}

json::object public_json(const TaskRecord& record) {
  return to_object(record);
}

std::string make_task_id(std::int64_t now_ms, std::uint64_t random) {
  return fmt::format("{:012x}{:08x}", static_cast<std::uint64_t>(now_ms) & 0xffffffffffffULL,
                     static_cast<std::uint32_t>(random));
}

bool is_task_id(std::string_view text) {
  if (text.size() != 20) return false;
  for (char c : text) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

}  // namespace isla::tasks
