#pragma once
// The autoscaler's decisions, as a pure function of what it is shown: the workers' last
// heartbeats, the queue, the configuration and the time, which only ever comes in as an
// argument. Like the Kubernetes HPA it computes the workers wanted from the load
// (desired = ceil(demand / (target utilisation * slots per worker))), but it acts only when
// the load has stayed past a mark for a while, one bounded step at a time.
//
// Not thread-safe: the ScalerDriver serialises the calls.
#include <boost/json.hpp>
#include <chrono>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace isla::tasks::autoscale {

using Millis = std::chrono::milliseconds;

// A worker as its last heartbeat described it.
struct WorkerSample {
  std::string id;
  int concurrency = 0;  // slots: tasks it runs at once
  int busy = 0;         // tasks it is running
  bool draining = false;
  bool launched_by_us = false;  // started by this node's launcher (the driver fills it in)
};

struct QueueSample {
  int ready = 0;    // queued tasks a worker could lease now (not waiting for a retry time)
  int running = 0;  // leased tasks
  double oldest_wait_ms = 0;  // how long the oldest ready task has waited
};

struct AutoscalerConfig {
  int min_workers = 1;
  int max_workers = 8;
  // Utilisation = (busy slots + ready tasks) / slots, so a backlog counts as demand and it
  // can exceed 1.
  double high_utilisation = 0.8;
  Millis high_for{3'000};
  double low_utilisation = 0.1;
  Millis low_for{30'000};
  // What a scale-up aims at: the smallest pool that would run the demand at this utilisation.
  double target_utilisation = 0.6;
  // Between two scale-ups, and between a failed start and its retry. Short, because workers
  // still starting already count as capacity, so a second step only adds what is missing.
  Millis scale_up_cooldown{1'000};
  // Between two scale-downs (one worker each), and after a scale-up before any scale-down.
  Millis scale_down_cooldown{2'000};
  // One scale-up adds at most max(step_up_min, ceil(current * step_up_ratio)) workers: the
  // HPA's default of "double, or 4, whichever is more".
  double step_up_ratio = 1.0;
  int step_up_min = 4;
  // A ready task older than this is a reason to scale up however busy the workers look;
  // 0 turns it off.
  double queue_wait_high_ms = 5'000;
  // The slots a worker we start will have (its --concurrency): counted while it boots.
  int worker_concurrency = 4;
  // A worker we started that has not heartbeated after this long is given up (and stopped).
  Millis boot_timeout{30'000};
  // After gaining leadership (or a reset) nothing is done until every live worker has had
  // time to heartbeat: the new leader must not act on an empty or half-measured picture.
  Millis settle_after_reset{2'000};

  // Every broken rule, for people ("max_workers (0) must be at least 1"); empty when good.
  std::vector<std::string> problems() const;
};

enum class DecisionKind {
  none,           // nothing to do (reason says why)
  scale_up,       // start `count` workers
  scale_down,     // drain `worker` (idle, so it leaves at once)
  abandon_start,  // `worker`, which we started, never heartbeated: stop it and stop waiting
};
const char* to_string(DecisionKind kind);

// The numbers a decision was made from, all reported with it.
struct ScalingNumbers {
  double utilisation = 0;  // +infinity when there is demand but no slot at all
  int demand = 0;          // busy + ready
  int busy = 0;            // on workers that are not draining
  int slots = 0;           // of workers not draining, and of workers still starting
  int ready = 0;
  int running = 0;
  double oldest_wait_ms = 0;
  int workers = 0;   // heartbeating, not draining
  int starting = 0;  // started by us, not heartbeating yet
  int draining = 0;
  int desired = 0;  // the pool size this evaluation aims at
  int min_workers = 0;
  int max_workers = 0;
  long long high_for_ms = 0;  // how long the high condition has held (0: it does not)
  long long low_for_ms = 0;   // how long the low condition has held (0: it does not)
};

struct Decision {
  DecisionKind kind = DecisionKind::none;
  int count = 0;       // scale_up: workers to start
  std::string worker;  // scale_down, abandon_start: which one
  std::string reason;  // for people: what held, for how long, against which mark
  ScalingNumbers numbers;
  // Filled in by whoever applied it (the ScalerDriver): the ids started, and what failed.
  std::vector<std::string> started;
  std::string error;

  bool acts() const { return kind != DecisionKind::none; }
  // {"decision", "reason", "count"|"worker", "started", "error", "numbers": {...}}: an event
  // log entry and the `scaling` event's data.
  boost::json::object to_json() const;
};

class Autoscaler {
 public:
  explicit Autoscaler(AutoscalerConfig config);  // throws std::invalid_argument on problems()

  // One evaluation. An action starts its cooldown at once (whether or not it then succeeds,
  // so that a failing launcher is retried after the cooldown, not at every evaluation).
  Decision evaluate(Millis now, const std::vector<WorkerSample>& workers, const QueueSample& queue);

  // Workers the launcher did start: counted as capacity until they heartbeat, they exit or
  // boot_timeout passes.
  void started(const std::vector<std::string>& ids, Millis now);
  // Forgets starting workers whose process is gone (not in `alive`, the launcher's running
  // ones); each is reported by a later evaluation as an abandon_start.
  void forget_exited(const std::vector<std::string>& alive);
  // Leadership moved (or the driver restarted): drop every window, cooldown and drain request,
  // and wait settle_after_reset from `now` before acting. Workers still starting stay counted.
  void reset(Millis now);

  const AutoscalerConfig& config() const { return config_; }
  std::size_t starting() const { return starting_.size(); }

 private:
  struct Pool;
  Pool measure(Millis now, const std::vector<WorkerSample>& workers, const QueueSample& queue);
  Decision scale_up(Millis now, const Pool& pool, int count, std::string reason);
  Decision scale_down(Millis now, const Pool& pool, std::string reason);
  std::optional<std::string> pick_idle(const Pool& pool) const;
  bool cooling_up(Millis now) const;
  bool cooling_down(Millis now) const;

  AutoscalerConfig config_;
  std::optional<Millis> high_since_;
  std::optional<Millis> low_since_;
  std::optional<Millis> last_scale_up_;
  std::optional<Millis> last_scale_down_;
  std::optional<Millis> settled_at_;
  std::map<std::string, Millis> starting_;    // id -> when started
  std::map<std::string, Millis> first_seen_;  // id -> first heartbeat seen (newest drains first)
  std::set<std::string> drain_requested_;     // counted as draining until they leave
  std::vector<std::string> exited_early_;     // started, then died before any heartbeat
};

}  // namespace isla::tasks::autoscale
