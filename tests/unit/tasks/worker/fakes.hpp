#pragma once
// What the worker tests drive the engine with: a clock that moves when told, a gateway side
// (TaskSource) that can drop, duplicate, delay and reorder calls and answer `lost`, and task
// types that count their runs or block until released.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "core/clock.hpp"
#include "tasks/types/task_type.hpp"
#include "tasks/worker/task_source.hpp"
#include "tasks/worker/worker_clock.hpp"

namespace isla::tasks::testing {

using std::chrono::milliseconds;
using std::chrono::seconds;

// Fake time; a waiter re-checks it every millisecond of real time (so advance() needs no
// list of whom to wake).
class FakeWorkerClock final : public WorkerClock {
 public:
  core::SteadyTime now() const override { return clock_.now(); }
  void wait_until(std::condition_variable& changed, std::unique_lock<std::mutex>& lock,
                  core::SteadyTime until) const override {
    ++waits_;
    if (now() < until) changed.wait_for(lock, milliseconds(1));
  }
  void advance(core::Duration by) { clock_.advance(by); }
  // Times a worker thread has looked at the clock while waiting: once it moved past a value
  // read after advance(), some thread has seen the new time.
  std::uint64_t waits() const { return waits_; }

 private:
  core::FakeClock clock_;
  mutable std::atomic<std::uint64_t> waits_{0};
};

// Polls `done` until it holds, moving fake time on by `step` between looks; false after
// `limit` of real time.
inline bool eventually(const std::function<bool()>& done, FakeWorkerClock* clock = nullptr,
                       core::Duration step = milliseconds(50), seconds limit = seconds(20)) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (done()) return true;
    if (clock != nullptr) clock->advance(step);
    std::this_thread::sleep_for(milliseconds(1));
  }
  return done();
}

// A type with one integer parameter `n` (0..1e6) that counts its runs per n and answers
// {"n": n}.
class CountingType final : public TaskType {
 public:
  explicit CountingType(std::string name = "count") : name_(std::move(name)) {}
  const std::string& name() const override { return name_; }
  const std::string& description() const override { return name_; }
  const TaskLimits& limits() const override { return limits_; }
  boost::json::object schema_json() const override { return {}; }
  std::vector<ParamError> validate(const boost::json::value& params) const override {
    const auto* n = params.is_object() ? params.as_object().if_contains("n") : nullptr;
    if (n == nullptr || !n->is_int64() || n->as_int64() < 0 || n->as_int64() > 1'000'000) {
      return {{"n", "must be an integer in [0, 1000000]"}};
    }
    return {};
  }
  TaskOutcome run(const boost::json::object& params, const RunContext&) const override {
    const auto n = params.at("n").as_int64();
    std::lock_guard lock(mutex_);
    ++runs_[n];
    return TaskOutcome::success(boost::json::object{{"n", n}});
  }
  std::map<std::int64_t, int> runs() const {
    std::lock_guard lock(mutex_);
    return runs_;
  }

 private:
  std::string name_;
  TaskLimits limits_;
  mutable std::mutex mutex_;
  mutable std::map<std::int64_t, int> runs_;
};

// A type whose runs wait until released (or asked to stop, ending `cancelled`), recording
// how many run at once.
class BlockingType final : public TaskType {
 public:
  const std::string& name() const override { return name_; }
  const std::string& description() const override { return name_; }
  const TaskLimits& limits() const override { return limits_; }
  boost::json::object schema_json() const override { return {}; }
  std::vector<ParamError> validate(const boost::json::value&) const override { return {}; }
  TaskOutcome run(const boost::json::object&, const RunContext& context) const override {
    std::unique_lock lock(mutex_);
    ++running_;
    ++started_;
    most_ = std::max(most_, running_);
    changed_.notify_all();
    while (!released_ && !context.stop_requested()) changed_.wait_for(lock, milliseconds(1));
    --running_;
    const bool stopped = !released_;
    if (stopped) ++stopped_;
    changed_.notify_all();
    if (stopped) return TaskOutcome::failure_of(FailureKind::cancelled, "stopped");
    return TaskOutcome::success(boost::json::object{{"done", true}});
  }
  void release() {
    std::lock_guard lock(mutex_);
    released_ = true;
    changed_.notify_all();
  }
  int running() const {
    std::lock_guard lock(mutex_);
    return running_;
  }
  int most() const {
    std::lock_guard lock(mutex_);
    return most_;
  }
  int started() const {
    std::lock_guard lock(mutex_);
    return started_;
  }
  int stopped() const {
    std::lock_guard lock(mutex_);
    return stopped_;
  }

 private:
  std::string name_ = "block";
  TaskLimits limits_;
  mutable std::mutex mutex_;
  mutable std::condition_variable changed_;
  mutable int running_ = 0;
  mutable int most_ = 0;
  mutable int started_ = 0;
  mutable int stopped_ = 0;
  bool released_ = false;
};

struct Misbehaviour {
  double drop_lease_answer = 0;        // tasks leased, answer lost (they come back re-leased)
  double duplicate = 0;                // a task handed out twice in one answer, or again later
  double fail_extend = 0;              // no answer to an extend
  double drop_complete_before = 0;     // not recorded, no answer
  double drop_complete_after = 0;      // recorded, answer lost
  int max_delay_ms = 0;                // each call waits up to this long (real time)
  bool greedy = false;                 // hands out more than asked for
  bool lease_fails = false;            // every lease call: no answer
  bool lease_answers_at_once = false;  // empty answers without holding the poll
};

// The gateway side in memory: tasks queued by the test are handed out by lease(), results
// recorded once per lease; every call is logged in order.
class FakeSource final : public TaskSource {
 public:
  explicit FakeSource(FakeWorkerClock& clock, Misbehaviour misbehaviour = {}, unsigned seed = 7)
      : clock_(clock), misbehaviour_(misbehaviour), random_(seed) {}

  void add(const std::string& type, boost::json::value params) {
    std::lock_guard lock(mutex_);
    const auto id = "t" + std::to_string(next_id_++);
    queue_.push_back({id, type, std::move(params), 1, "", 0});
    changed_.notify_all();
  }

  std::optional<std::vector<LeasedTask>> lease(const LeaseRequest& request) override {
    delay();
    std::unique_lock lock(mutex_);
    log_.push_back("lease");
    ++lease_calls_;
    max_asked_ = std::max(max_asked_, request.max);
    if (misbehaviour_.lease_fails) return std::nullopt;
    const auto until = clock_.now() + request.wait;
    while (queue_.empty() && !interrupted_ && !misbehaviour_.lease_answers_at_once &&
           clock_.now() < until) {
      changed_.wait_for(lock, milliseconds(1));
    }
    if (interrupted_) return std::vector<LeasedTask>{};
    const auto limit = misbehaviour_.greedy ? request.max * 3 : request.max;
    std::vector<LeasedTask> out;
    while (!queue_.empty() && static_cast<int>(out.size()) < limit) {
      auto task = queue_.front();
      queue_.pop_front();
      task.lease = task.id + "/L" + std::to_string(next_lease_++);
      active_[task.id] = task.lease;
      out.push_back(task);
      if (chance(misbehaviour_.duplicate)) out.push_back(task);
    }
    if (!out.empty() && chance(misbehaviour_.drop_lease_answer)) {
      // The leases will expire unseen; the queue hands the tasks out again, newly leased.
      for (auto& task : out) {
        if (active_.erase(task.id) > 0) queue_.push_back(task);
      }
      return std::nullopt;
    }
    for (const auto& task : out) handed_.insert({task.id, task.lease});
    if (!handed_last_.empty() && chance(misbehaviour_.duplicate))
      out.push_back(handed_last_.back());
    if (!out.empty()) handed_last_ = out;
    return out;
  }

  std::optional<IdVerdicts> extend(const std::vector<LeaseRef>& leases,
                                   milliseconds visibility) override {
    delay();
    std::lock_guard lock(mutex_);
    log_.push_back("extend");
    if (chance(misbehaviour_.fail_extend)) return std::nullopt;
    IdVerdicts verdicts;
    for (const auto& lease : leases) {
      extensions_[lease] += 1;
      last_visibility_ = visibility;
      const bool lost = lose_on_extend_.contains(lease.id) || !is_active(lease);
      (lost ? verdicts.lost : verdicts.accepted).push_back(lease.id);
    }
    std::shuffle(verdicts.accepted.begin(), verdicts.accepted.end(), random_);
    return verdicts;
  }

  std::optional<IdVerdicts> complete(const std::vector<TaskResult>& results) override {
    delay();
    std::lock_guard lock(mutex_);
    ++complete_calls_;
    if (fail_completes_ > 0) {
      --fail_completes_;
      return std::nullopt;
    }
    if (chance(misbehaviour_.drop_complete_before)) return std::nullopt;
    IdVerdicts verdicts;
    for (const auto& result : results) {
      sent_[result.task] += 1;
      if (!handed_.contains(result.task)) unknown_results_ += 1;
      if (recorded_.contains(result.task)) {  // a resend: answered as the first was
        verdicts.accepted.push_back(result.task.id);
        continue;
      }
      if (!is_active(result.task)) {
        verdicts.lost.push_back(result.task.id);
        continue;
      }
      active_.erase(result.task.id);
      recorded_[result.task] += 1;
      outcomes_[result.task.id] = result.outcome;
      log_.push_back("complete " + result.task.id);
      verdicts.accepted.push_back(result.task.id);
    }
    changed_.notify_all();
    if (chance(misbehaviour_.drop_complete_after)) return std::nullopt;
    std::shuffle(verdicts.accepted.begin(), verdicts.accepted.end(), random_);
    return verdicts;
  }

  std::optional<bool> heartbeat(const WorkerStats& stats) override {
    std::lock_guard lock(mutex_);
    log_.push_back("heartbeat");
    heartbeats_.push_back(stats);
    return drain_;
  }

  bool bye() override {
    std::lock_guard lock(mutex_);
    log_.push_back("bye");
    ++byes_;
    return true;
  }

  void interrupt_leasing() override {
    std::lock_guard lock(mutex_);
    interrupted_ = true;
    log_.push_back("interrupt");
    changed_.notify_all();
  }

  // --- what the test arranges
  void lose_on_extend(const std::string& id) {
    std::lock_guard lock(mutex_);
    lose_on_extend_.insert(id);
    active_.erase(id);
  }
  void fail_next_completes(int count) {
    std::lock_guard lock(mutex_);
    fail_completes_ = count;
  }
  void ask_to_drain() {
    std::lock_guard lock(mutex_);
    drain_ = true;
  }

  // --- what the test reads
  template <class T>
  T read(T FakeSource::*member) const {
    std::lock_guard lock(mutex_);
    return this->*member;
  }
  std::size_t recorded_count() const {
    std::lock_guard lock(mutex_);
    return recorded_.size();
  }
  std::set<std::string> recorded_ids() const {
    std::lock_guard lock(mutex_);
    std::set<std::string> ids;
    for (const auto& [ref, count] : recorded_) ids.insert(ref.id);
    return ids;
  }
  int extensions_of(const std::string& id) const {
    std::lock_guard lock(mutex_);
    int count = 0;
    for (const auto& [ref, times] : extensions_) count += ref.id == id ? times : 0;
    return count;
  }
  int count_in_log(const std::string& entry) const {
    std::lock_guard lock(mutex_);
    return static_cast<int>(std::count(log_.begin(), log_.end(), entry));
  }

  mutable std::mutex mutex_;
  std::vector<std::string> log_;
  std::map<LeaseRef, int> recorded_;  // results recorded per lease
  std::map<LeaseRef, int> sent_;      // results sent per lease (resends included)
  std::map<std::string, TaskOutcome> outcomes_;
  std::set<LeaseRef> handed_;  // leases the worker was told of
  std::map<LeaseRef, int> extensions_;
  std::vector<WorkerStats> heartbeats_;
  int lease_calls_ = 0;
  int complete_calls_ = 0;
  int max_asked_ = 0;
  int byes_ = 0;
  int unknown_results_ = 0;
  milliseconds last_visibility_{0};

 private:
  bool is_active(const LeaseRef& lease) const {
    auto found = active_.find(lease.id);
    return found != active_.end() && found->second == lease.lease;
  }
  bool chance(double probability) {
    return probability > 0 && std::uniform_real_distribution<>(0, 1)(random_) < probability;
  }
  void delay() {
    if (misbehaviour_.max_delay_ms == 0) return;
    int ms = 0;
    {
      std::lock_guard lock(mutex_);
      ms = std::uniform_int_distribution<>(0, misbehaviour_.max_delay_ms)(random_);
    }
    std::this_thread::sleep_for(milliseconds(ms));  // latency, not synchronisation
  }

  FakeWorkerClock& clock_;
  Misbehaviour misbehaviour_;
  std::mt19937 random_;
  std::condition_variable changed_;
  std::deque<LeasedTask> queue_;
  std::map<std::string, std::string> active_;  // id -> its current lease
  std::vector<LeasedTask> handed_last_;
  std::set<std::string> lose_on_extend_;
  int next_id_ = 0;
  int next_lease_ = 0;
  int fail_completes_ = 0;
  bool drain_ = false;
  bool interrupted_ = false;
};

}  // namespace isla::tasks::testing
