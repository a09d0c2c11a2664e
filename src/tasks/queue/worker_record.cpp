#include "tasks/queue/worker_record.hpp"

#include "core/names.hpp"

namespace isla::tasks {

namespace json = boost::json;

json::object worker_json(const WorkerState& state) {
  const auto& r = state.report;
  return {{"worker", r.worker},
          {"concurrency", r.concurrency},
          {"busy", r.busy},
          {"completed", r.completed},
          {"failed", r.failed},
          {"draining", r.draining},
          {"pid", r.pid},
          {"last_seen_ms", state.last_seen_ms},
          {"drain_requested", state.drain_requested}};
}

std::string encode_worker(const WorkerState& state) {
  return json::serialize(worker_json(state));
}

std::optional<WorkerState> decode_worker(std::string_view bytes) {
  json::error_code ec;
  auto parsed = json::parse(bytes, ec);
  if (ec || !parsed.is_object()) return std::nullopt;
  const auto& o = parsed.as_object();
  WorkerState state;
  try {
    state.report.worker = json::value_to<std::string>(o.at("worker"));
    state.report.concurrency = json::value_to<int>(o.at("concurrency"));
    state.report.busy = json::value_to<int>(o.at("busy"));
    state.report.completed = json::value_to<std::int64_t>(o.at("completed"));
    state.report.failed = json::value_to<std::int64_t>(o.at("failed"));
    state.report.draining = o.at("draining").as_bool();
    state.report.pid = json::value_to<std::int64_t>(o.at("pid"));
    state.last_seen_ms = json::value_to<std::int64_t>(o.at("last_seen_ms"));
    state.drain_requested = o.at("drain_requested").as_bool();
  } catch (const std::exception&) {
    return std::nullopt;
  }
  if (!is_worker_id(state.report.worker)) return std::nullopt;
  return state;
}

bool is_worker_id(std::string_view text) {
  return core::valid_short_name(text);
}

}  // namespace isla::tasks
