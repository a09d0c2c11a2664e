#include "tasks/worker/worker_wire.hpp"

namespace isla::tasks::wire {

namespace json = boost::json;

namespace {

std::optional<json::value> parse_json(std::string_view body, std::string* error) {
  boost::system::error_code code;
  json::parse_options options;
  options.max_depth = 64;
  auto value = json::parse(body, code, {}, options);
  if (code) {
    *error = "the answer is not JSON: " + code.message();
    return std::nullopt;
  }
  if (!value.is_object()) {
    *error = "the answer is not a JSON object";
    return std::nullopt;
  }
  return value;
}

bool good_token(const json::value* value) {
  return value != nullptr && value->is_string() && !value->as_string().empty() &&
         value->as_string().size() <= kMaxTokenBytes;
}

// The task entry as a LeasedTask, or why it is unusable.
std::optional<LeasedTask> task_from(const json::value& entry, std::string* why) {
  if (!entry.is_object()) {
    *why = "a task entry is not an object";
    return std::nullopt;
  }
  const auto& object = entry.as_object();
  const auto* id = object.if_contains("id");
  const auto* lease = object.if_contains("lease");
  const auto* type = object.if_contains("type");
  if (!good_token(id)) {
    *why = "a task entry has no usable \"id\"";
    return std::nullopt;
  }
  LeasedTask task;
  task.id = std::string(id->as_string());
  if (!good_token(lease)) {
    *why = "task " + task.id + " has no usable \"lease\"";
    return std::nullopt;
  }
  if (!good_token(type)) {
    *why = "task " + task.id + " has no usable \"type\"";
    return std::nullopt;
  }
  task.lease = std::string(lease->as_string());
  task.type = std::string(type->as_string());
  if (const auto* params = object.if_contains("params")) task.params = *params;
  if (const auto* attempt = object.if_contains("attempt"); attempt && attempt->is_int64()) {
    const auto value = attempt->as_int64();
    task.attempt = value < 0 || value > 1'000'000 ? 0 : static_cast<int>(value);
  }
  if (const auto* until = object.if_contains("lease_until_ms"); until && until->is_int64()) {
    task.lease_until_ms = until->as_int64();
  }
  return task;
}

void read_ids(const json::object& object, std::string_view key, std::vector<std::string>& out) {
  const auto* list = object.if_contains(key);
  if (list == nullptr || !list->is_array()) return;
  for (const auto& id : list->as_array()) {
    if (good_token(&id)) out.emplace_back(id.as_string());
  }
}

}  // namespace

std::string lease_body(const std::string& worker, const LeaseRequest& request) {
  return json::serialize(json::object{{"worker", worker},
                                      {"max", request.max},
                                      {"wait_ms", request.wait.count()},
                                      {"visibility_ms", request.visibility.count()}});
}

std::string extend_body(const std::string& worker, const std::vector<LeaseRef>& leases,
                        std::chrono::milliseconds visibility) {
  json::array list;
  list.reserve(leases.size());
  for (const auto& lease : leases) list.push_back({{"id", lease.id}, {"lease", lease.lease}});
  return json::serialize(json::object{
      {"worker", worker}, {"visibility_ms", visibility.count()}, {"leases", std::move(list)}});
}

std::string complete_body(const std::string& worker, const std::vector<TaskResult>& results) {
  json::array list;
  list.reserve(results.size());
  for (const auto& result : results) {
    json::object entry{{"id", result.task.id}, {"lease", result.task.lease}};
    if (result.outcome.ok) {
      entry["ok"] = true;
      entry["result"] = result.outcome.result;
    } else {
      entry["ok"] = false;
      entry["kind"] = to_string(result.outcome.failure);
      entry["error"] = result.outcome.error;
    }
    list.push_back(std::move(entry));
  }
  return json::serialize(json::object{{"worker", worker}, {"results", std::move(list)}});
}

std::string heartbeat_body(const std::string& worker, const WorkerStats& stats, long pid) {
  return json::serialize(json::object{{"worker", worker},
                                      {"concurrency", stats.concurrency},
                                      {"busy", stats.busy},
                                      {"completed", stats.completed},
                                      {"failed", stats.failed},
                                      {"draining", stats.draining},
                                      {"pid", pid}});
}

std::string bye_body(const std::string& worker) {
  return json::serialize(json::object{{"worker", worker}});
}

std::optional<LeaseAnswer> parse_lease_answer(std::string_view body, std::string* error) {
  auto value = parse_json(body, error);
  if (!value) return std::nullopt;
  const auto* tasks = value->as_object().if_contains("tasks");
  if (tasks == nullptr || !tasks->is_array()) {
    *error = "the lease answer has no \"tasks\" list";
    return std::nullopt;
  }
  LeaseAnswer answer;
  for (const auto& entry : tasks->as_array()) {
    std::string why;
    if (auto task = task_from(entry, &why)) {
      answer.tasks.push_back(std::move(*task));
    } else {
      answer.skipped.push_back(std::move(why));
    }
  }
  return answer;
}

std::optional<IdVerdicts> parse_id_verdicts(std::string_view body, std::string_view accepted_key,
                                            std::string* error) {
  auto value = parse_json(body, error);
  if (!value) return std::nullopt;
  IdVerdicts verdicts;
  read_ids(value->as_object(), accepted_key, verdicts.accepted);
  read_ids(value->as_object(), "lost", verdicts.lost);
  return verdicts;
}

std::optional<bool> parse_heartbeat_answer(std::string_view body, std::string* error) {
  auto value = parse_json(body, error);
  if (!value) return std::nullopt;
  const auto* drain = value->as_object().if_contains("drain");
  return drain != nullptr && drain->is_bool() && drain->as_bool();
}

}  // namespace isla::tasks::wire
