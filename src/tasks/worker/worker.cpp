#include "tasks/worker/worker.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <stdexcept>

namespace isla::tasks {

using std::chrono::milliseconds;

namespace {

// Recently finished leases remembered, so a duplicate delivery of one is not run again.
constexpr std::size_t kSettledMemory = 4096;

std::string joined_errors(const std::vector<ParamError>& errors) {
  std::string out;
  for (const auto& error : errors) out += (out.empty() ? "" : "; ") + error.message();
  return out;
}

}  // namespace

Worker::Worker(WorkerOptions options, const TaskCatalog& catalog, TaskSource& source,
               const WorkerClock& clock)
    : options_(std::move(options)),
      catalog_(catalog),
      source_(source),
      clock_(clock),
      random_(core::seed_from_device()) {
  if (options_.concurrency < 1) throw std::invalid_argument("concurrency must be at least 1");
  if (options_.visibility < milliseconds(3)) {
    throw std::invalid_argument("the visibility timeout is too short to extend");
  }
}

Worker::~Worker() {
  bool running = false;
  {
    std::lock_guard lock(mutex_);
    running = started_ && !left_;
  }
  if (running) {
    cancel_runs();
    stop();
  }
}

void Worker::start() {
  std::lock_guard lock(mutex_);
  if (started_) throw std::logic_error("the worker was started already");
  started_ = true;
  threads_.emplace_back([this] { lease_loop(); });
  for (int i = 0; i < options_.concurrency; ++i) threads_.emplace_back([this] { run_loop(); });
  threads_.emplace_back([this] { report_loop(); });
  threads_.emplace_back([this] { extend_loop(); });
  threads_.emplace_back([this] { heartbeat_loop(); });
}

void Worker::request_stop() {
  std::lock_guard lock(mutex_);
  begin_stop_locked();
}

void Worker::cancel_runs() {
  std::lock_guard lock(mutex_);
  if (left_) return;
  cancel_locked("asked to leave at once");
}

void Worker::stop() {
  {
    std::unique_lock lock(mutex_);
    if (!started_) return;
    if (stopping_ && !left_) {
      cancel_locked("stopped again while draining");
    } else {
      begin_stop_locked();
    }
    changed_.wait(lock, [this] { return left_; });
  }
  std::lock_guard join(join_mutex_);
  for (auto& thread : threads_) {
    if (thread.joinable()) thread.join();
  }
}

bool Worker::has_left() const {
  std::lock_guard lock(mutex_);
  return left_;
}

WorkerCounters Worker::counters() const {
  std::lock_guard lock(mutex_);
  return counters_;
}

WorkerStats Worker::stats() const {
  std::lock_guard lock(mutex_);
  return stats_locked();
}

WorkerStats Worker::stats_locked() const {
  WorkerStats stats;
  stats.concurrency = options_.concurrency;
  stats.busy = static_cast<int>(held_.size());
  stats.completed = counters_.completed;
  stats.failed = counters_.failed;
  stats.draining = stopping_;
  return stats;
}

void Worker::begin_stop_locked() {
  if (stopping_) return;
  stopping_ = true;
  stop_requested_at_ = clock_.now();
  spdlog::info("worker draining: no more leases; finishing {} held tasks", held_.size());
  source_.interrupt_leasing();
  changed_.notify_all();
}

void Worker::cancel_locked(const char* why) {
  begin_stop_locked();
  if (cancelled_) return;
  cancelled_ = true;
  cancelled_at_ = clock_.now();
  spdlog::warn("worker {}: stopping {} running tasks", why, running_);
  for (auto& [ref, held] : held_) held.stop->store(true);
  changed_.notify_all();
}

int Worker::free_slots_locked() const {
  if (outbox_.size() >= options_.max_undelivered) return 0;
  return options_.concurrency - running_ - static_cast<int>(waiting_.size());
}

void Worker::wait_locked(std::unique_lock<std::mutex>& lock, core::SteadyTime until) {
  clock_.wait_until(changed_, lock, until);
}

void Worker::settle_locked(const LeaseRef& ref) {
  held_.erase(ref);
  if (settled_.insert(ref).second) {
    settled_order_.push_back(ref);
    if (settled_order_.size() > kSettledMemory) {
      settled_.erase(settled_order_.front());
      settled_order_.pop_front();
    }
  }
  changed_.notify_all();
}

void Worker::lease_loop() {
  core::Backoff backoff(options_.retry_backoff, random_);
  std::unique_lock lock(mutex_);
  for (;;) {
    changed_.wait(lock, [this] { return stopping_ || free_slots_locked() > 0; });
    if (stopping_) break;
    LeaseRequest request{free_slots_locked(), options_.lease_wait, options_.visibility};
    ++counters_.lease_calls;
    const auto asked_at = clock_.now();
    lock.unlock();
    auto tasks = source_.lease(request);
    lock.lock();
    const auto now = clock_.now();
    // Tasks leased to us are run even when a stop began meanwhile: they are ours now.
    if (tasks) {
      for (auto& task : *tasks) {
        LeaseRef ref{task.id, task.lease};
        if (held_.contains(ref) || settled_.contains(ref)) {
          ++counters_.duplicates;
          continue;
        }
        ++counters_.leased;
        Held held;
        held.task = std::move(task);
        held.valid_until = asked_at + options_.visibility;
        if (cancelled_) held.stop->store(true);
        held_.emplace(ref, std::move(held));
        waiting_.push_back(std::move(ref));
      }
      changed_.notify_all();
    }
    if (stopping_) break;
    // No answer, or an empty one long before the wait was up (a gateway that does not hold
    // the poll): wait before asking again, so that nothing spins.
    const bool quick_empty = tasks && tasks->empty() && now - asked_at < options_.lease_wait / 4;
    if (!tasks || quick_empty) {
      const auto until = now + backoff.next();
      while (!stopping_ && clock_.now() < until) wait_locked(lock, until);
    } else {
      backoff.reset();
    }
  }
  leaser_done_ = true;
  changed_.notify_all();
}

TaskOutcome Worker::execute(const LeasedTask& task, const std::atomic<bool>& stop) const {
  const TaskType* type = catalog_.find(task.type);
  if (type == nullptr) {
    return TaskOutcome::failure_of(FailureKind::failed,
                                   "this worker does not know type " + task.type);
  }
  if (!task.params.is_object()) {
    return TaskOutcome::failure_of(FailureKind::bad_params, "the parameters are not an object");
  }
  // Checked at submission too; checked again because this worker's types may differ from
  // the gateway's (another version, another task directory).
  if (auto errors = type->validate(task.params); !errors.empty()) {
    return TaskOutcome::failure_of(FailureKind::bad_params, joined_errors(errors));
  }
  RunContext context;
  context.stop = &stop;
  context.deadline = std::chrono::steady_clock::now() + type->limits().wall;
  TaskOutcome outcome;
  try {
    outcome = type->run(task.params.as_object(), context);
  } catch (const std::exception& error) {
    return TaskOutcome::failure_of(FailureKind::failed,
                                   std::string("the task threw: ") + error.what());
  } catch (...) {
    return TaskOutcome::failure_of(FailureKind::failed, "the task threw");
  }
  if (outcome.ok) {
    const auto size = boost::json::serialize(outcome.result).size();
    if (size > type->limits().output_bytes) {
      return TaskOutcome::failure_of(
          FailureKind::failed, "the result is " + std::to_string(size) + " bytes, over the " +
                                   std::to_string(type->limits().output_bytes) + "-byte limit");
    }
  }
  return outcome;
}

void Worker::run_loop() {
  std::unique_lock lock(mutex_);
  for (;;) {
    changed_.wait(lock, [this] { return !waiting_.empty() || leaser_done_; });
    if (waiting_.empty()) break;
    const LeaseRef ref = std::move(waiting_.front());
    waiting_.pop_front();
    auto& held = held_.at(ref);
    if (held.lost) {
      settle_locked(ref);
      continue;
    }
    TaskOutcome outcome;
    if (cancelled_) {
      outcome = TaskOutcome::failure_of(FailureKind::cancelled,
                                        "the worker left before the task started");
    } else {
      held.state = State::running;
      ++running_;
      const auto task = held.task;
      const auto stop = held.stop;
      lock.unlock();
      outcome = execute(task, *stop);
      lock.lock();
      --running_;
    }
    auto& finished = held_.at(ref);
    if (finished.lost) {
      settle_locked(ref);
      continue;
    }
    ++(outcome.ok ? counters_.completed : counters_.failed);
    if (!outcome.ok) {
      spdlog::debug("task={} type={} failed kind={}: {}", ref.id, finished.task.type,
                    to_string(outcome.failure), outcome.error);
    }
    finished.outcome = std::move(outcome);
    finished.state = State::reporting;
    outbox_.push_back(ref);
    changed_.notify_all();
  }
  ++runners_done_;
  changed_.notify_all();
}

void Worker::drop_undeliverable_locked() {
  const auto now = clock_.now();
  const bool giving_up = cancelled_ && now >= cancelled_at_ + options_.final_delivery;
  std::vector<LeaseRef> kept;
  for (auto& ref : outbox_) {
    const auto& held = held_.at(ref);
    if (held.lost) {
      settle_locked(ref);
    } else if (giving_up || now >= held.valid_until + options_.visibility) {
      // Not extended for a whole visibility timeout past its end: the task has been given
      // to another worker, and this result would be refused.
      ++counters_.dropped_results;
      spdlog::warn("task={} result given up undelivered ({})", ref.id,
                   giving_up ? "leaving" : "its lease is gone");
      settle_locked(ref);
    } else {
      kept.push_back(std::move(ref));
    }
  }
  outbox_ = std::move(kept);
}

void Worker::report_loop() {
  core::Backoff backoff(options_.retry_backoff, random_);
  core::SteadyTime retry_at{};
  std::unique_lock lock(mutex_);
  const auto all_ran = [this] { return runners_done_ == options_.concurrency; };
  for (;;) {
    if (outbox_.empty() && all_ran()) break;
    if (outbox_.empty() || clock_.now() < retry_at) {
      if (outbox_.empty()) {
        changed_.wait(lock, [&] { return !outbox_.empty() || all_ran(); });
      } else {
        wait_locked(lock, retry_at);
      }
      continue;
    }
    drop_undeliverable_locked();
    if (outbox_.empty()) continue;
    std::vector<TaskResult> batch;
    for (const auto& ref : outbox_) {
      if (batch.size() >= options_.max_batch) break;
      batch.push_back({ref, *held_.at(ref).outcome});
    }
    lock.unlock();
    auto verdicts = source_.complete(batch);
    lock.lock();
    if (!verdicts) {
      retry_at = clock_.now() + backoff.next();
      continue;
    }
    backoff.reset();
    retry_at = {};
    const std::set<std::string> lost(verdicts->lost.begin(), verdicts->lost.end());
    for (const auto& result : batch) {
      // The gateway answered for the batch: a result it did not list as lost is recorded.
      if (lost.contains(result.task.id)) {
        ++counters_.lost_results;
        spdlog::info("task={} result not recorded: the lease was lost", result.task.id);
      } else {
        ++counters_.delivered;
      }
      std::erase(outbox_, result.task);
      settle_locked(result.task);
    }
  }
  finishing_ = true;
  changed_.notify_all();
  // Nothing may speak for this worker after its bye (a heartbeat would bring it back).
  changed_.wait(lock, [this] { return extender_done_ && heartbeat_done_; });
  lock.unlock();
  const bool said_bye = source_.bye();
  lock.lock();
  if (!said_bye) spdlog::warn("no gateway took the bye; the island will notice the silence");
  left_ = true;
  changed_.notify_all();
}

void Worker::extend_loop() {
  const auto period = options_.visibility / 3;
  std::unique_lock lock(mutex_);
  auto next = clock_.now() + period;
  for (;;) {
    while (!finishing_ && clock_.now() < next) wait_locked(lock, next);
    if (finishing_) break;
    std::vector<LeaseRef> leases;
    for (const auto& [ref, held] : held_) {
      if (!held.lost) leases.push_back(ref);
    }
    if (leases.empty()) {
      next = clock_.now() + period;
      continue;
    }
    const auto sent_at = clock_.now();
    ++counters_.extend_calls;
    lock.unlock();
    auto verdicts = source_.extend(leases, options_.visibility);
    lock.lock();
    if (!verdicts) {
      next = clock_.now() + std::min<milliseconds>(period, milliseconds(1000));
      continue;
    }
    next = sent_at + period;
    const std::set<std::string> extended(verdicts->accepted.begin(), verdicts->accepted.end());
    const std::set<std::string> lost(verdicts->lost.begin(), verdicts->lost.end());
    for (const auto& ref : leases) {
      auto found = held_.find(ref);
      if (found == held_.end()) continue;
      auto& held = found->second;
      if (lost.contains(ref.id)) {
        held.lost = true;
        held.stop->store(true);
        ++counters_.lost_leases;
        spdlog::info("task={} lease lost; stopping its run", ref.id);
      } else if (extended.contains(ref.id)) {
        held.valid_until = sent_at + options_.visibility;
      }
    }
    changed_.notify_all();
  }
  extender_done_ = true;
  changed_.notify_all();
}

void Worker::heartbeat_loop() {
  std::unique_lock lock(mutex_);
  while (!finishing_) {
    if (stopping_ && !cancelled_ && clock_.now() >= stop_requested_at_ + options_.drain_timeout) {
      cancel_locked("drain deadline passed");
    }
    const auto stats = stats_locked();
    ++counters_.heartbeats;
    lock.unlock();
    const auto drain = source_.heartbeat(stats);
    lock.lock();
    if (drain.value_or(false) && !stopping_) {
      counters_.drain_requested = true;
      spdlog::info("the island asks this worker to drain");
      begin_stop_locked();
    }
    const auto next = clock_.now() + options_.heartbeat_interval;
    while (!finishing_ && clock_.now() < next) wait_locked(lock, next);
  }
  heartbeat_done_ = true;
  changed_.notify_all();
}

}  // namespace isla::tasks
