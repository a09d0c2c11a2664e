#pragma once
// A worker's last report as the queue keeps it in the store (one record per worker).
#include <optional>
#include <string>
#include <string_view>

#include "tasks/queue/task_queue.hpp"

namespace isla::tasks {

std::string encode_worker(const WorkerState& state);
std::optional<WorkerState> decode_worker(std::string_view bytes);
boost::json::object worker_json(const WorkerState& state);
// Worker ids name store keys and signers: [A-Za-z0-9._-], 1-64 characters.
bool is_worker_id(std::string_view text);

}  // namespace isla::tasks
