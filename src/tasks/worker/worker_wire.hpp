#pragma once
// The Worker API's bodies (docs/tasks.md): what a worker sends, and the decoding of what
// gateways answer. Decoders never throw: an answer that is not what the API promises is an
// error message, and one bad task in a lease answer is skipped, not the whole answer.
#include <boost/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tasks/worker/task_source.hpp"

namespace isla::tasks::wire {

// Ids and lease tokens longer than this are refused (they are echoed back to the gateway).
inline constexpr std::size_t kMaxTokenBytes = 256;

std::string lease_body(const std::string& worker, const LeaseRequest& request);
std::string extend_body(const std::string& worker, const std::vector<LeaseRef>& leases,
                        std::chrono::milliseconds visibility);
std::string complete_body(const std::string& worker, const std::vector<TaskResult>& results);
std::string heartbeat_body(const std::string& worker, const WorkerStats& stats, long pid);
std::string bye_body(const std::string& worker);

struct LeaseAnswer {
  std::vector<LeasedTask> tasks;
  std::vector<std::string> skipped;  // why each malformed task entry was left out
};

// nullopt (with `error` set) when the body is not {"tasks": [...]}.
std::optional<LeaseAnswer> parse_lease_answer(std::string_view body, std::string* error);
// {"<accepted_key>": [id...], "lost": [id...]}; both lists may be missing (empty).
std::optional<IdVerdicts> parse_id_verdicts(std::string_view body, std::string_view accepted_key,
                                            std::string* error);
// {"drain": bool}; a missing "drain" is false.
std::optional<bool> parse_heartbeat_answer(std::string_view body, std::string* error);

}  // namespace isla::tasks::wire
