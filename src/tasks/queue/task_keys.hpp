#pragma once
// Where the queue keeps its records in the island store (under isla's system prefix, so
// that a client's `write` token cannot edit tasks through the KV API).
#include <string>
#include <string_view>

namespace isla::tasks {

inline constexpr std::string_view kTasksPrefix = "_isla/tasks/";
inline constexpr std::string_view kTaskPrefix = "_isla/tasks/t/";
inline constexpr std::string_view kIdempotencyPrefix = "_isla/tasks/idem/";
inline constexpr std::string_view kWorkerPrefix = "_isla/tasks/w/";
inline constexpr std::string_view kScalingPrefix = "_isla/tasks/scaling/";

inline std::string task_key(std::string_view id) {
  return std::string(kTaskPrefix) + std::string(id);
}
inline std::string idempotency_key(std::string_view key) {
  return std::string(kIdempotencyPrefix) + std::string(key);
}
inline std::string worker_key(std::string_view worker) {
  return std::string(kWorkerPrefix) + std::string(worker);
}

}  // namespace isla::tasks
