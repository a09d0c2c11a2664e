#pragma once
// The task queue kept in the island store. Every gateway runs one: it follows the tasks'
// records through a watch of its own replica (for counts, workers, and clients waiting on a
// task), and the gateway that leads the store also dispatches: it hands out leases from an
// in-memory ReadyIndex, turns expired leases into failed attempts, and forgets silent
// workers. Every change is a compare-and-swap on the record's revision, so a stale index, a
// deposed leader or a late worker can waste a write but never record a second result.
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <unordered_map>

#include "core/random.hpp"
#include "net/completion.hpp"
#include "tasks/queue/ready_index.hpp"
#include "tasks/queue/submit_batcher.hpp"
#include "tasks/queue/task_queue.hpp"

namespace isla::tasks {

struct Leadership {
  bool leading = false;
  std::string leader_address;  // empty when unknown
};

// Sees every task's record once per change, with the state it left (none for a new task):
// the gateway's metrics and event feed.
class TaskObserver {
 public:
  virtual ~TaskObserver() = default;
  virtual void on_task(const TaskRecord& record, std::optional<TaskStatus> previous) = 0;
  virtual void on_worker(const WorkerState& state, bool gone) = 0;
};

struct StoreTaskQueueOptions {
  std::function<Leadership()> leadership;
  std::function<std::int64_t()> now_ms;  // wall clock: records carry it between gateways
  ReadyIndex::RunningLimit max_running;  // per type; may be empty
  std::chrono::milliseconds worker_timeout{5000};
  std::chrono::milliseconds tick{100};  // the reaper's period, and the longest a wait sleeps
  std::int64_t max_visibility_ms = 600'000;
  std::shared_ptr<TaskObserver> observer;
  SubmitBatcherOptions submit_batching;
};

class StoreTaskQueue final : public TaskQueue, public std::enable_shared_from_this<StoreTaskQueue> {
 public:
  StoreTaskQueue(store::Store& store, StoreTaskQueueOptions options,
                 std::unique_ptr<core::Random> random);

  // Starts following the store on `executor`; stop() ends it (and wakes every waiter).
  void start(asio::any_io_executor executor);
  void stop();

  asio::awaitable<QueueResult<Submitted>> submit(const SubmitSpec& spec,
                                                 Deadline deadline) override;
  asio::awaitable<QueueResult<TaskRecord>> get(const std::string& id, Deadline deadline) override;
  asio::awaitable<QueueResult<TaskPage>> list(std::optional<TaskStatus> status,
                                              const std::string& after, std::size_t limit,
                                              Deadline deadline) override;
  asio::awaitable<QueueResult<TaskRecord>> cancel(const std::string& id,
                                                  Deadline deadline) override;
  asio::awaitable<QueueResult<TaskRecord>> wait_settled(const std::string& id,
                                                        Deadline deadline) override;
  asio::awaitable<QueueResult<std::vector<TaskRecord>>> lease(const LeaseAsk& ask,
                                                              Deadline deadline) override;
  asio::awaitable<QueueResult<Settled>> extend(const std::string& worker,
                                               const std::vector<LeaseRef>& leases,
                                               std::int64_t visibility_ms,
                                               Deadline deadline) override;
  asio::awaitable<QueueResult<Settled>> complete(const std::string& worker,
                                                 const std::vector<AttemptResult>& results,
                                                 Deadline deadline) override;
  asio::awaitable<QueueResult<bool>> heartbeat(const WorkerReport& report,
                                               Deadline deadline) override;
  asio::awaitable<QueueResult<bool>> bye(const std::string& worker, Deadline deadline) override;
  asio::awaitable<QueueResult<bool>> request_drain(const std::string& worker,
                                                   Deadline deadline) override;
  QueueStats stats() const override;

  // For a queue that dispatches elsewhere (JetStreamTaskQueue) and keeps its records here.
  // submit() in two steps: the new record (its id), then its write (idempotency included).
  TaskRecord prepare(const SubmitSpec& spec);
  asio::awaitable<QueueResult<Submitted>> submit_prepared(const SubmitSpec& spec, TaskRecord record,
                                                          Deadline deadline);
  // Leases these tasks to ask.worker where their records allow it; answers those leased.
  asio::awaitable<std::vector<TaskRecord>> grant(const std::vector<std::string>& ids,
                                                 const LeaseAsk& ask, Deadline deadline);
  // Reads each attempt's record and applies `transition` to it with a compare-and-swap.
  asio::awaitable<QueueResult<Settled>> settle(
      const std::vector<std::pair<std::string, std::string>>& attempts,
      const std::function<std::optional<TaskRecord>(const TaskRecord&, std::size_t)>& transition,
      Deadline deadline);

 private:
  using Wake = net::Completion<bool>;
  struct Read {
    TaskRecord record;
    store::Revision revision = 0;
  };
  // A change to make: `next` replaces the record read at `revision`.
  struct WorkerEntry {
    WorkerState state;
    store::Revision revision = 0;
  };
  struct Change {
    std::string id;
    store::Revision revision = 0;
    TaskRecord next;
  };

  asio::awaitable<void> follow();
  // Under mutex_. `live`: a change as it happens (not the first read of the queue).
  void apply(const store::Event& event, bool live);
  asio::awaitable<void> reap();

  asio::awaitable<QueueResult<std::optional<Read>>> read(const std::string& id,
                                                         store::Consistency consistency,
                                                         Deadline deadline);
  // Writes the changes in one transaction, or one by one when another write got to one of
  // them first; answers which were written.
  // The record as the watch last brought it, for tasks not yet finished.
  std::optional<Read> cached(const std::string& id) const;
  asio::awaitable<QueueResult<std::vector<bool>>> write(const std::vector<Change>& changes,
                                                        Deadline deadline);
  asio::awaitable<void> sleep_until_woken(std::vector<std::shared_ptr<Wake>>& list, Deadline until);
  void wake(std::vector<std::shared_ptr<Wake>>& list);
  store::StoreError not_leader() const;
  std::string next_token();

  store::Store& store_;
  StoreTaskQueueOptions options_;
  std::shared_ptr<SubmitBatcher> submits_;
  asio::any_io_executor executor_;

  mutable std::mutex mutex_;  // everything below
  std::unique_ptr<core::Random> random_;
  ReadyIndex index_;
  std::unordered_map<std::string, Read> live_;  // unfinished tasks' records, from the watch
  std::map<std::string, WorkerEntry> workers_;
  std::deque<std::string> scaling_;  // the latest autoscaler decisions, for status pages
  // Workers that said bye, with when: a long poll of theirs still open gets nothing more
  // (its connection may be gone, and what it leased would wait out its visibility timeout).
  std::map<std::string, std::int64_t> departed_;
  std::vector<std::shared_ptr<Wake>> lease_waiters_;
  std::multimap<std::string, std::shared_ptr<Wake>> settle_waiters_;
  bool dispatching_ = false;
  bool stopped_ = false;
};

}  // namespace isla::tasks
