#pragma once
// The worker engine behind `isla worker`: leases tasks from a TaskSource, runs them on a
// pool of threads, keeps their leases alive, and delivers each result once.
//
// Threads, each blocking on its own kind of call so that a slow one delays no other:
// - the leaser asks for at most the free slots, by long poll (an idle worker waits at the
//   gateway, not in a loop); a failed or suspiciously quick empty answer backs off;
// - `concurrency` runners take leased tasks in arrival order, check their parameters again
//   and run them;
// - the extender extends every held lease (waiting, running, or result not yet delivered)
//   every third of the visibility timeout; a lease answered `lost` stops its run, and its
//   result is dropped (the gateway would refuse it);
// - the reporter delivers results in batches and keeps what could not be delivered, retrying
//   with backoff, until delivered, answered `lost`, or its lease is surely gone;
// - the heartbeat reports the counters every second; an answer asking to drain stops it.
// stop() stops leasing, lets the runs finish, delivers their results, then says bye. A
// second stop(), cancel_runs() or the drain deadline sets every run's RunContext::stop.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "core/backoff.hpp"
#include "core/random.hpp"
#include "tasks/types/task_type.hpp"
#include "tasks/worker/task_source.hpp"
#include "tasks/worker/worker_clock.hpp"

namespace isla::tasks {

struct WorkerOptions {
  int concurrency = 4;
  std::chrono::milliseconds visibility{30'000};
  std::chrono::milliseconds lease_wait{20'000};  // the long poll's wait
  std::chrono::milliseconds heartbeat_interval{1000};
  // A graceful stop that has not finished after this long cancels the runs still going.
  std::chrono::milliseconds drain_timeout{120'000};
  // Once runs are cancelled, results not delivered within this long are given up.
  std::chrono::milliseconds final_delivery{5000};
  core::BackoffOptions retry_backoff{std::chrono::milliseconds(100),
                                     std::chrono::milliseconds(2000)};
  std::size_t max_batch = 256;  // results per complete call
  // Leasing pauses while this many results wait for delivery (the gateways are not taking
  // them; more work would only pile up more).
  std::size_t max_undelivered = 1024;
};

struct WorkerCounters {
  std::uint64_t lease_calls = 0;
  std::uint64_t leased = 0;           // tasks taken (duplicates not counted)
  std::uint64_t duplicates = 0;       // a lease handed out again while held or just settled
  std::uint64_t completed = 0;        // runs that succeeded
  std::uint64_t failed = 0;           // runs that failed, any kind
  std::uint64_t delivered = 0;        // results the gateway recorded
  std::uint64_t lost_results = 0;     // results the gateway answered `lost` (not recorded)
  std::uint64_t lost_leases = 0;      // extensions answered `lost`: the run was stopped
  std::uint64_t dropped_results = 0;  // given up undelivered (lease surely gone, or leaving)
  std::uint64_t extend_calls = 0;
  std::uint64_t heartbeats = 0;
  bool drain_requested = false;  // a heartbeat answer asked this worker to leave
};

class Worker {
 public:
  // `catalog`, `source` and `clock` must outlive the worker.
  Worker(WorkerOptions options, const TaskCatalog& catalog, TaskSource& source,
         const WorkerClock& clock);
  ~Worker();  // cancels the runs and stops if still running
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  void start();
  // Begins a graceful stop without waiting for it (the first signal).
  void request_stop();
  // Asks every run to stop now (RunContext::stop) and begins a stop (the second signal).
  void cancel_runs();
  // Graceful stop: returns once every result is delivered (or given up) and bye was sent.
  // Called while another stop() waits, it cancels the runs.
  void stop();
  // Whether the worker has said bye (after stop(), or a drain the island asked for).
  bool has_left() const;

  WorkerCounters counters() const;
  WorkerStats stats() const;

 private:
  enum class State { waiting, running, reporting };
  struct Held {
    LeasedTask task;
    State state = State::waiting;
    std::shared_ptr<std::atomic<bool>> stop = std::make_shared<std::atomic<bool>>(false);
    core::SteadyTime valid_until;  // our estimate of when the lease ends
    bool lost = false;             // the gateway said the lease is gone
    std::optional<TaskOutcome> outcome;
  };

  void lease_loop();
  void run_loop();
  void report_loop();
  void extend_loop();
  void heartbeat_loop();

  TaskOutcome execute(const LeasedTask& task, const std::atomic<bool>& stop) const;
  int free_slots_locked() const;
  void begin_stop_locked();
  void cancel_locked(const char* why);
  void settle_locked(const LeaseRef& ref);  // forgets a held lease, remembering it was ours
  void drop_undeliverable_locked();
  WorkerStats stats_locked() const;
  void wait_locked(std::unique_lock<std::mutex>& lock, core::SteadyTime until);

  const WorkerOptions options_;
  const TaskCatalog& catalog_;
  TaskSource& source_;
  const WorkerClock& clock_;
  core::SeededRandom random_;

  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::map<LeaseRef, Held> held_;
  std::deque<LeaseRef> waiting_;  // leased, not started, in arrival order
  std::vector<LeaseRef> outbox_;  // finished, result not yet delivered
  std::set<LeaseRef> settled_;    // recently finished leases, to spot duplicates
  std::deque<LeaseRef> settled_order_;
  int running_ = 0;
  WorkerCounters counters_;

  bool started_ = false;
  bool stopping_ = false;
  bool cancelled_ = false;
  core::SteadyTime stop_requested_at_;
  core::SteadyTime cancelled_at_;
  bool leaser_done_ = false;
  int runners_done_ = 0;
  bool finishing_ = false;  // every result settled: the extender and heartbeat end
  bool extender_done_ = false;
  bool heartbeat_done_ = false;
  bool left_ = false;

  std::mutex join_mutex_;
  std::vector<std::thread> threads_;
};

}  // namespace isla::tasks
