#pragma once
// The task queue as the gateway's routes see it. The embedded implementation keeps the
// queue in the island store (StoreTaskQueue); a JetStream one can sit behind the same
// interface. Errors are the store's: not_leader (with the leader's address: the route
// forwards), unavailable, unknown_outcome, not_found, conflict.
#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "net/asio.hpp"
#include "store/store.hpp"
#include "tasks/queue/queue_rules.hpp"
#include "tasks/queue/task_record.hpp"

namespace isla::tasks {

using store::Deadline;
template <class T>
using QueueResult = store::StoreResult<T>;

struct Submitted {
  TaskRecord task;
  bool duplicate = false;  // the idempotency key was used before: this is the first task
};

struct TaskPage {
  std::vector<TaskRecord> tasks;
  std::string next;  // the id to pass as `after` for the next page; empty at the end
};

struct LeaseAsk {
  std::string worker;
  int max = 1;
  std::chrono::milliseconds wait{0};
  std::int64_t visibility_ms = 30'000;
};

struct LeaseRef {
  std::string id;
  std::string lease;
};

struct AttemptResult {
  std::string id;
  std::string lease;
  bool ok = false;
  boost::json::value result;  // when ok
  std::string kind;           // when not: a FailureKind's name
  std::string error;
  bool permanent = false;  // bad parameters: retrying cannot help
};

struct Settled {
  std::vector<std::string> done;  // recorded
  std::vector<std::string> lost;  // not recorded: the attempt no longer holds its lease
};

struct WorkerReport {
  std::string worker;
  int concurrency = 0;
  int busy = 0;
  std::int64_t completed = 0;
  std::int64_t failed = 0;
  bool draining = false;
  std::int64_t pid = 0;
};

struct WorkerState {
  WorkerReport report;
  std::int64_t last_seen_ms = 0;
  bool drain_requested = false;
};

struct QueueStats {
  std::array<std::size_t, 5> by_status{};  // indexed by TaskStatus
  std::size_t ready = 0;                   // queued, due now, not held back by a type limit
  std::int64_t oldest_ready_ms = 0;        // since when the longest-waiting of those waits
  std::vector<WorkerState> workers;
  bool dispatching = false;          // this gateway hands out leases (it leads the store)
  std::vector<std::string> scaling;  // the autoscaler's latest decisions (JSON), oldest first
};

class TaskQueue {
 public:
  virtual ~TaskQueue() = default;

  virtual asio::awaitable<QueueResult<Submitted>> submit(const SubmitSpec& spec,
                                                         Deadline deadline) = 0;
  virtual asio::awaitable<QueueResult<TaskRecord>> get(const std::string& id,
                                                       Deadline deadline) = 0;
  virtual asio::awaitable<QueueResult<TaskPage>> list(std::optional<TaskStatus> status,
                                                      const std::string& after, std::size_t limit,
                                                      Deadline deadline) = 0;
  virtual asio::awaitable<QueueResult<TaskRecord>> cancel(const std::string& id,
                                                          Deadline deadline) = 0;
  // The task once it is done, dead or cancelled; its latest record at `deadline` otherwise.
  virtual asio::awaitable<QueueResult<TaskRecord>> wait_settled(const std::string& id,
                                                                Deadline deadline) = 0;

  // Worker side. Only the store leader's gateway dispatches: elsewhere not_leader.
  virtual asio::awaitable<QueueResult<std::vector<TaskRecord>>> lease(const LeaseAsk& ask,
                                                                      Deadline deadline) = 0;
  virtual asio::awaitable<QueueResult<Settled>> extend(const std::string& worker,
                                                       const std::vector<LeaseRef>& leases,
                                                       std::int64_t visibility_ms,
                                                       Deadline deadline) = 0;
  virtual asio::awaitable<QueueResult<Settled>> complete(const std::string& worker,
                                                         const std::vector<AttemptResult>& results,
                                                         Deadline deadline) = 0;
  // Answers whether the worker is asked to drain.
  virtual asio::awaitable<QueueResult<bool>> heartbeat(const WorkerReport& report,
                                                       Deadline deadline) = 0;
  virtual asio::awaitable<QueueResult<bool>> bye(const std::string& worker, Deadline deadline) = 0;
  virtual asio::awaitable<QueueResult<bool>> request_drain(const std::string& worker,
                                                           Deadline deadline) = 0;

  virtual QueueStats stats() const = 0;
};

}  // namespace isla::tasks
