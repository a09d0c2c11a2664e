#include "tasks/queue/task_api_json.hpp"

#include <fmt/format.h>

#include "tasks/queue/worker_record.hpp"

namespace isla::tasks {

namespace json = boost::json;

namespace {

constexpr std::size_t kMaxKeyLength = 200;
constexpr std::size_t kMaxErrorLength = 4096;

// Reads one body's fields, remembering the first problem.
class Fields {
 public:
  explicit Fields(std::string_view body) {
    json::error_code ec;
    auto parsed = json::parse(body, ec);
    if (ec) {
      error_ = ApiError{"the body must be a JSON object", "", ""};
      return;
    }
    take(std::move(parsed));
  }
  // A body parsed already (one submission of a forwarded batch).
  explicit Fields(json::value parsed) { take(std::move(parsed)); }

  bool ok() const { return !error_; }
  ApiError error() const { return *error_; }
  const json::object& object() const { return object_; }

  void fail(std::string field, std::string rule) {
    if (!error_) error_ = ApiError{field + ": " + rule, field, std::move(rule)};
  }

  // Fields nobody reads are mistakes (a typo must not fall back to a default quietly).
  void only(std::initializer_list<std::string_view> known) {
    for (const auto& [key, value] : object_) {
      if (std::find(known.begin(), known.end(), key) == known.end()) {
        fail(std::string(key), "is not a field of this request");
      }
    }
  }

  std::string text(std::string_view key, bool required, std::size_t max_length) {
    const auto* value = object_.if_contains(key);
    if (value == nullptr) {
      if (required) fail(std::string(key), "is required");
      return {};
    }
    if (!value->is_string() || value->as_string().size() > max_length ||
        (required && value->as_string().empty())) {
      fail(std::string(key),
           fmt::format("must be a string of {} to {} characters", required ? 1 : 0, max_length));
      return {};
    }
    return std::string(value->as_string());
  }

  std::int64_t integer(std::string_view key, std::int64_t fallback, std::int64_t low,
                       std::int64_t high) {
    const auto* value = object_.if_contains(key);
    if (value == nullptr) return fallback;
    std::int64_t number = 0;
    if (value->is_int64()) {
      number = value->as_int64();
    } else if (value->is_uint64() && value->as_uint64() <= static_cast<std::uint64_t>(high)) {
      number = static_cast<std::int64_t>(value->as_uint64());
    } else {
      number = low - 1;
    }
    if (number < low || number > high) {
      fail(std::string(key), fmt::format("must be an integer in [{}, {}]", low, high));
      return fallback;
    }
    return number;
  }

  bool boolean(std::string_view key, bool fallback) {
    const auto* value = object_.if_contains(key);
    if (value == nullptr) return fallback;
    if (!value->is_bool()) {
      fail(std::string(key), "must be true or false");
      return fallback;
    }
    return value->as_bool();
  }

  std::string worker() {
    std::string name = text("worker", true, 64);
    if (ok() && !is_worker_id(name)) fail("worker", "must be 1-64 of [A-Za-z0-9._-]");
    return name;
  }

  const json::array* array(std::string_view key) {
    const auto* value = object_.if_contains(key);
    if (value == nullptr || !value->is_array() || value->as_array().size() > kMaxBatch) {
      fail(std::string(key), fmt::format("must be an array of at most {} items", kMaxBatch));
      return nullptr;
    }
    return &value->as_array();
  }

 private:
  void take(json::value parsed) {
    if (!parsed.is_object()) {
      error_ = ApiError{"the body must be a JSON object", "", ""};
      return;
    }
    object_ = std::move(parsed.as_object());
  }

  json::object object_;
  std::optional<ApiError> error_;
};

bool printable(std::string_view text) {
  for (unsigned char c : text) {
    if (c < 0x21 || c > 0x7e) return false;
  }
  return true;
}

}  // namespace

namespace {

std::variant<SubmitBody, ApiError> parse_submit_fields(Fields& fields, const TaskCatalog& catalog) {
  if (!fields.ok()) return fields.error();
  fields.only(
      {"type", "params", "priority", "max_attempts", "idempotency_key", "sync", "mode", "wait_ms"});
  SubmitBody submit;
  submit.spec.type = fields.text("type", true, 64);
  submit.spec.priority = static_cast<int>(fields.integer("priority", 0, 0, kMaxPriority));
  submit.spec.max_attempts =
      static_cast<int>(fields.integer("max_attempts", 5, 1, kMaxAttemptsLimit));
  submit.spec.idempotency_key = fields.text("idempotency_key", false, kMaxKeyLength);
  if (fields.ok() && !printable(submit.spec.idempotency_key)) {
    fields.fail("idempotency_key", "must be printable ASCII without spaces");
  }
  submit.sync = fields.boolean("sync", false);
  // ARCHITECTURE.md's spelling of the same choice.
  if (fields.object().contains("mode")) {
    const std::string mode = fields.text("mode", true, 5);
    if (fields.ok() && mode != "sync" && mode != "async")
      fields.fail("mode", "must be sync or async");
    if (fields.object().contains("sync") && (mode == "sync") != submit.sync) {
      fields.fail("mode", "contradicts sync");
    }
    submit.sync = mode == "sync";
  }
  submit.wait =
      std::chrono::milliseconds(fields.integer("wait_ms", 30'000, 0, kMaxSyncWait.count()));
  if (!fields.ok()) return fields.error();
  const TaskType* type = catalog.find(submit.spec.type);
  if (type == nullptr) {
    return ApiError{
        "type: no task type \"" + submit.spec.type + "\" (GET /api/task-types lists them)", "type",
        "must name a known task type"};
  }
  const auto* params = fields.object().if_contains("params");
  submit.spec.params = params != nullptr ? *params : json::value(json::object());
  auto broken = type->validate(submit.spec.params);
  if (!broken.empty()) {
    const auto& first = broken.front();
    return ApiError{"params." + first.message(), "params." + first.field, first.rule};
  }
  return submit;
}

}  // namespace

std::variant<SubmitBody, ApiError> parse_submit(std::string_view body, const TaskCatalog& catalog) {
  Fields fields(body);
  return parse_submit_fields(fields, catalog);
}

std::variant<SubmitBody, ApiError> parse_submit_value(boost::json::value body,
                                                      const TaskCatalog& catalog) {
  Fields fields(std::move(body));
  return parse_submit_fields(fields, catalog);
}

std::variant<LeaseAsk, ApiError> parse_lease(std::string_view body) {
  Fields fields(body);
  if (!fields.ok()) return fields.error();
  fields.only({"worker", "max", "wait_ms", "visibility_ms"});
  LeaseAsk ask;
  ask.worker = fields.worker();
  ask.max = static_cast<int>(fields.integer("max", 1, 1, kMaxBatch));
  ask.wait = std::chrono::milliseconds(fields.integer("wait_ms", 0, 0, kMaxLeaseWait.count()));
  ask.visibility_ms = fields.integer("visibility_ms", 30'000, 1000, 600'000);
  if (!fields.ok()) return fields.error();
  return ask;
}

std::variant<ExtendBody, ApiError> parse_extend(std::string_view body) {
  Fields fields(body);
  if (!fields.ok()) return fields.error();
  fields.only({"worker", "visibility_ms", "leases"});
  ExtendBody extend;
  extend.worker = fields.worker();
  extend.visibility_ms = fields.integer("visibility_ms", 30'000, 1000, 600'000);
  const auto* leases = fields.array("leases");
  if (!fields.ok()) return fields.error();
  for (const auto& item : *leases) {
    const auto* object = item.if_object();
    const auto* id = object ? object->if_contains("id") : nullptr;
    const auto* lease = object ? object->if_contains("lease") : nullptr;
    if (!id || !lease || !id->is_string() || !lease->is_string() || !is_task_id(id->as_string()) ||
        lease->as_string().size() > 64) {
      return ApiError{"leases: each must be {\"id\": task id, \"lease\": token}", "leases",
                      "must hold {id, lease} objects"};
    }
    extend.leases.push_back({std::string(id->as_string()), std::string(lease->as_string())});
  }
  return extend;
}

std::variant<CompleteBody, ApiError> parse_complete(std::string_view body) {
  Fields fields(body);
  if (!fields.ok()) return fields.error();
  fields.only({"worker", "results"});
  CompleteBody complete;
  complete.worker = fields.worker();
  const auto* results = fields.array("results");
  if (!fields.ok()) return fields.error();
  const ApiError bad{
      "results: each must be {id, lease, ok, result} or {id, lease, ok: false, "
      "kind, error}",
      "results", "must hold result objects"};
  for (const auto& item : *results) {
    const auto* object = item.if_object();
    if (object == nullptr) return bad;
    const auto* id = object->if_contains("id");
    const auto* lease = object->if_contains("lease");
    const auto* ok = object->if_contains("ok");
    if (!id || !lease || !ok || !id->is_string() || !lease->is_string() || !ok->is_bool() ||
        !is_task_id(id->as_string()) || lease->as_string().size() > 64) {
      return bad;
    }
    AttemptResult result;
    result.id = std::string(id->as_string());
    result.lease = std::string(lease->as_string());
    result.ok = ok->as_bool();
    if (result.ok) {
      const auto* value = object->if_contains("result");
      result.result = value != nullptr ? *value : json::value();
    } else {
      const auto* kind = object->if_contains("kind");
      const auto* error = object->if_contains("error");
      if (!kind || !error || !kind->is_string() || !error->is_string()) return bad;
      auto parsed_kind = failure_kind_from(kind->as_string());
      if (!parsed_kind) return bad;
      result.kind = to_string(*parsed_kind);
      result.permanent = is_permanent(*parsed_kind);
      result.error = std::string(error->as_string()).substr(0, kMaxErrorLength);
    }
    complete.results.push_back(std::move(result));
  }
  return complete;
}

std::variant<WorkerReport, ApiError> parse_heartbeat(std::string_view body) {
  Fields fields(body);
  if (!fields.ok()) return fields.error();
  fields.only({"worker", "concurrency", "busy", "completed", "failed", "draining", "pid"});
  WorkerReport report;
  report.worker = fields.worker();
  report.concurrency = static_cast<int>(fields.integer("concurrency", 1, 1, 4096));
  report.busy = static_cast<int>(fields.integer("busy", 0, 0, 4096));
  report.completed = fields.integer("completed", 0, 0, INT64_MAX);
  report.failed = fields.integer("failed", 0, 0, INT64_MAX);
  report.draining = fields.boolean("draining", false);
  report.pid = fields.integer("pid", 0, 0, INT32_MAX);
  if (!fields.ok()) return fields.error();
  return report;
}

std::variant<std::string, ApiError> parse_bye(std::string_view body) {
  Fields fields(body);
  if (!fields.ok()) return fields.error();
  fields.only({"worker"});
  std::string worker = fields.worker();
  if (!fields.ok()) return fields.error();
  return worker;
}

json::object settled_json(const Settled& settled) {
  json::array done(settled.done.begin(), settled.done.end());
  json::array lost(settled.lost.begin(), settled.lost.end());
  return {{"recorded", std::move(done)}, {"lost", std::move(lost)}};
}

json::object leased_json(const std::vector<TaskRecord>& tasks) {
  json::array out;
  for (const auto& task : tasks) {
    out.push_back(json::object{{"id", task.id},
                               {"type", task.type},
                               {"params", task.params},
                               {"attempt", task.attempts},
                               {"lease", task.lease},
                               {"lease_until_ms", task.lease_until_ms}});
  }
  return {{"tasks", std::move(out)}};
}

}  // namespace isla::tasks
