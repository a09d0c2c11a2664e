#pragma once
// What a task type is, to the gateway that checks a submission and to the worker that runs
// it: a name, a parameter schema, limits, and a function from parameters to a result. The
// compiled-in types and the external (sandboxed, manifest-described) ones both sit behind
// TaskType; a TaskCatalog holds the types a node knows.
#include <atomic>
#include <boost/json.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace isla::tasks {

// Why a run failed, as the queue and the client see it. `limit_*` name the limit a task
// exceeded; `bad_params` is never retried; `failed` and `crashed` are retried until the
// task's attempts run out.
enum class FailureKind {
  failed,         // the task reported an error (or its output was not a JSON result)
  crashed,        // an external task died of a signal or exited non-zero without a result
  bad_params,     // the parameters broke the schema (caught at submit; rechecked at run)
  limit_cpu,      // CPU time limit
  limit_memory,   // memory limit
  limit_wall,     // wall-clock limit
  cancelled,      // the run was asked to stop (worker leaving at once, lease lost)
  lease_expired,  // the worker holding the lease went silent (recorded by the queue)
};
const char* to_string(FailureKind kind);
std::optional<FailureKind> failure_kind_from(std::string_view text);
// Retrying cannot help: bad parameters stay bad.
bool is_permanent(FailureKind kind);

struct TaskLimits {
  std::chrono::milliseconds wall{60'000};
  std::chrono::milliseconds cpu{60'000};      // enforced for external tasks (RLIMIT_CPU)
  std::uint64_t memory_bytes = 256ull << 20;  // enforced for external tasks (RLIMIT_AS)
  std::uint64_t output_bytes = 1ull << 20;    // a result larger than this is a failure
  int max_running = 0;  // per-type concurrency limit across the island; 0 = no limit
};

// A broken rule in a set of parameters: which field, and which rule it broke, e.g.
// {"limit", "must be an integer in [2, 10000000]"}. The gateway answers it as a 400.
struct ParamError {
  std::string field;
  std::string rule;
  std::string message() const;  // "limit: must be an integer in [2, 10000000]"
};

struct TaskOutcome {
  bool ok = false;
  boost::json::value result;                  // when ok
  FailureKind failure = FailureKind::failed;  // when not ok
  std::string error;                          // when not ok: says what happened, for people
  static TaskOutcome success(boost::json::value result);
  static TaskOutcome failure_of(FailureKind kind, std::string error);
};

// Passed to a run: a long compiled-in task polls `stop_requested` between steps and ends
// with FailureKind::cancelled when it is set. The deadline is the wall-clock limit's end.
struct RunContext {
  const std::atomic<bool>* stop = nullptr;
  std::chrono::steady_clock::time_point deadline = std::chrono::steady_clock::time_point::max();
  bool stop_requested() const {
    return (stop != nullptr && stop->load(std::memory_order_relaxed)) ||
           std::chrono::steady_clock::now() >= deadline;
  }
};

class TaskType {
 public:
  virtual ~TaskType() = default;
  virtual const std::string& name() const = 0;
  virtual const std::string& description() const = 0;
  virtual const TaskLimits& limits() const = 0;
  // The schema as JSON, for GET /api/task-types: {"field": {"type": "integer", "min": 2,
  // "max": 10000000, "required": true, "description": "…"}, …}.
  virtual boost::json::object schema_json() const = 0;
  // Every rule the parameters break, in field order; empty when they are good. Unknown
  // fields are an error too (a typo must not silently fall back to a default).
  virtual std::vector<ParamError> validate(const boost::json::value& params) const = 0;
  // Runs with parameters that passed validate(). Must not throw: a failure is an outcome.
  // Called on a worker's pool thread; may block for as long as the task takes.
  virtual TaskOutcome run(const boost::json::object& params, const RunContext& context) const = 0;
};

// The types a node knows, by name. Filled at start-up, read-only afterwards (so lock-free
// reads from any thread).
class TaskCatalog {
 public:
  void add(std::shared_ptr<const TaskType> type);  // throws std::invalid_argument on a duplicate
  const TaskType* find(std::string_view name) const;
  const std::vector<std::shared_ptr<const TaskType>>& all() const { return types_; }
  // {"types": [{"name", "description", "limits": {...}, "params": schema_json()}, …]}
  boost::json::object describe() const;

 private:
  std::vector<std::shared_ptr<const TaskType>> types_;
};

// The compiled-in types: sum, multiply, sort, reverse, sha256, primes, pi, mine, sleep.
void add_builtin_types(TaskCatalog& catalog);
// The external types described by `<dir>/*.toml` manifests (see docs/tasks.md). Throws
// std::runtime_error naming the file and the problem for a bad manifest.
void add_external_types(TaskCatalog& catalog, const std::string& dir);

}  // namespace isla::tasks
