#pragma once
// The gateway side of the Worker API (docs/tasks.md) as a worker sees it. The engine
// (worker.hpp) talks only to this interface: the real one speaks HTTP to the gateways
// (http_task_source.hpp), the tests' fakes drop, duplicate, delay and reorder calls.
//
// Every call blocks until answered. nullopt (or false) means no gateway gave an answer: the
// call may or may not have taken effect, and the caller decides when to try again.
#include <boost/json.hpp>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "tasks/types/task_type.hpp"

namespace isla::tasks {

// One attempt of a task, handed to this worker until `lease_until_ms` unless extended.
struct LeasedTask {
  std::string id;
  std::string type;
  boost::json::value params;
  int attempt = 0;
  std::string lease;  // opaque; names this attempt in extend and complete
  std::int64_t lease_until_ms = 0;
};

struct LeaseRequest {
  int max = 1;                     // at most this many tasks (the worker's free slots)
  std::chrono::milliseconds wait;  // long poll: answer empty after this long
  std::chrono::milliseconds visibility;
};

struct LeaseRef {
  std::string id;
  std::string lease;
  friend bool operator==(const LeaseRef&, const LeaseRef&) = default;
  friend auto operator<=>(const LeaseRef&, const LeaseRef&) = default;
};

struct TaskResult {
  LeaseRef task;
  TaskOutcome outcome;
};

// Which of the ids sent were taken, and which were not because the lease is gone (expired
// and given to someone else, or the task was cancelled).
struct IdVerdicts {
  std::vector<std::string> accepted;  // "extended" or "recorded"
  std::vector<std::string> lost;
};

struct WorkerStats {
  int concurrency = 0;
  int busy = 0;  // tasks held: running, waiting for a slot, or waiting for their result's delivery
  std::uint64_t completed = 0;  // runs that succeeded
  std::uint64_t failed = 0;     // runs that failed (any kind)
  bool draining = false;
};

class TaskSource {
 public:
  virtual ~TaskSource() = default;
  // Long poll: up to request.max tasks, an empty list once request.wait has passed.
  virtual std::optional<std::vector<LeasedTask>> lease(const LeaseRequest& request) = 0;
  virtual std::optional<IdVerdicts> extend(const std::vector<LeaseRef>& leases,
                                           std::chrono::milliseconds visibility) = 0;
  virtual std::optional<IdVerdicts> complete(const std::vector<TaskResult>& results) = 0;
  // The answer says whether the island asks this worker to drain and leave.
  virtual std::optional<bool> heartbeat(const WorkerStats& stats) = 0;
  virtual bool bye() = 0;
  // Makes a lease() in progress (and any later one) return at once with no tasks: the worker
  // is stopping and must not wait out a long poll. Other calls still work.
  virtual void interrupt_leasing() = 0;
};

}  // namespace isla::tasks
