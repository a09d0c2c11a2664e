#include "tasks/autoscale/policy.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>

namespace isla::tasks::autoscale {

namespace {

double seconds(Millis duration) {
  return static_cast<double>(duration.count()) / 1000.0;
}

std::string utilisation_text(double utilisation) {
  return std::isfinite(utilisation) ? fmt::format("{:.2f}", utilisation) : "unbounded (no slots)";
}

}  // namespace

std::vector<std::string> AutoscalerConfig::problems() const {
  std::vector<std::string> found;
  const auto rule = [&found](bool holds, std::string text) {
    if (!holds) found.push_back(std::move(text));
  };
  rule(min_workers >= 0, fmt::format("min_workers ({}) must be at least 0", min_workers));
  rule(max_workers >= 1, fmt::format("max_workers ({}) must be at least 1", max_workers));
  rule(min_workers <= max_workers,
       fmt::format("min_workers ({}) must not exceed max_workers ({})", min_workers, max_workers));
  // Written as "!(a < b)" tests so that a NaN breaks the rule too.
  rule(low_utilisation > 0 && low_utilisation < target_utilisation,
       fmt::format("low utilisation ({}) must be above 0 and below the target ({})",
                   low_utilisation, target_utilisation));
  rule(target_utilisation > 0 && target_utilisation <= high_utilisation,
       fmt::format("target utilisation ({}) must be above 0 and at most the high mark ({}), or a "
                   "scale-up would not bring utilisation under the mark",
                   target_utilisation, high_utilisation));
  rule(high_utilisation <= 10,
       fmt::format("high utilisation ({}) must be at most 10 (a backlog of 9 slots' worth per "
                   "slot)",
                   high_utilisation));
  rule(high_for.count() >= 0, "high_for must not be negative");
  rule(low_for.count() >= 0, "low_for must not be negative");
  rule(scale_up_cooldown.count() >= 0, "scale_up_cooldown must not be negative");
  rule(scale_down_cooldown.count() >= 0, "scale_down_cooldown must not be negative");
  rule(settle_after_reset.count() >= 0, "settle_after_reset must not be negative");
  rule(boot_timeout.count() > 0, "boot_timeout must be positive");
  rule(step_up_ratio >= 0 && step_up_ratio <= 100,
       fmt::format("step_up_ratio ({}) must be in [0, 100]", step_up_ratio));
  rule(step_up_min >= 1, fmt::format("step_up_min ({}) must be at least 1", step_up_min));
  rule(queue_wait_high_ms >= 0,
       fmt::format("queue_wait_high_ms ({}) must not be negative (0 turns it off)",
                   queue_wait_high_ms));
  rule(worker_concurrency >= 1,
       fmt::format("worker_concurrency ({}) must be at least 1", worker_concurrency));
  return found;
}

const char* to_string(DecisionKind kind) {
  switch (kind) {
    case DecisionKind::none:
      return "none";
    case DecisionKind::scale_up:
      return "scale_up";
    case DecisionKind::scale_down:
      return "scale_down";
    case DecisionKind::abandon_start:
      return "abandon_start";
  }
  return "unknown";
}

boost::json::object Decision::to_json() const {
  boost::json::object numbers_json{
      // JSON has no infinity: "no slots at all" is a null utilisation.
      {"utilisation", std::isfinite(numbers.utilisation) ? boost::json::value(numbers.utilisation)
                                                         : boost::json::value(nullptr)},
      {"demand", numbers.demand},
      {"busy", numbers.busy},
      {"slots", numbers.slots},
      {"ready", numbers.ready},
      {"running", numbers.running},
      {"oldest_wait_ms", numbers.oldest_wait_ms},
      {"workers", numbers.workers},
      {"starting", numbers.starting},
      {"draining", numbers.draining},
      {"desired", numbers.desired},
      {"min_workers", numbers.min_workers},
      {"max_workers", numbers.max_workers},
      {"high_for_ms", numbers.high_for_ms},
      {"low_for_ms", numbers.low_for_ms},
  };
  boost::json::object out{{"decision", to_string(kind)}, {"reason", reason}};
  if (kind == DecisionKind::scale_up) {
    out["count"] = count;
    boost::json::array ids;
    for (const auto& id : started) ids.emplace_back(id);
    out["started"] = std::move(ids);
  }
  if (!worker.empty()) out["worker"] = worker;
  if (!error.empty()) out["error"] = error;
  out["numbers"] = std::move(numbers_json);
  return out;
}

struct Autoscaler::Pool {
  ScalingNumbers numbers;
  std::vector<const WorkerSample*> active;  // heartbeating, not draining
  bool high = false;
  std::string high_why;
  int current() const { return numbers.workers + numbers.starting; }
};

Autoscaler::Autoscaler(AutoscalerConfig config) : config_(std::move(config)) {
  const auto found = config_.problems();
  if (!found.empty()) {
    std::string text = "bad autoscaler configuration: ";
    for (std::size_t i = 0; i < found.size(); ++i) text += (i ? "; " : "") + found[i];
    throw std::invalid_argument(text);
  }
}

void Autoscaler::started(const std::vector<std::string>& ids, Millis now) {
  for (const auto& id : ids) starting_.emplace(id, now);
}

void Autoscaler::forget_exited(const std::vector<std::string>& alive) {
  for (auto it = starting_.begin(); it != starting_.end();) {
    if (std::find(alive.begin(), alive.end(), it->first) == alive.end()) {
      exited_early_.push_back(it->first);
      it = starting_.erase(it);
    } else {
      ++it;
    }
  }
}

void Autoscaler::reset(Millis now) {
  high_since_.reset();
  low_since_.reset();
  last_scale_up_.reset();
  last_scale_down_.reset();
  first_seen_.clear();
  drain_requested_.clear();
  settled_at_ = now + config_.settle_after_reset;
}

Autoscaler::Pool Autoscaler::measure(Millis now, const std::vector<WorkerSample>& workers,
                                     const QueueSample& queue) {
  std::set<std::string> present;
  for (const auto& worker : workers) present.insert(worker.id);
  std::erase_if(first_seen_, [&](const auto& entry) { return !present.contains(entry.first); });
  std::erase_if(drain_requested_, [&](const auto& id) { return !present.contains(id); });
  std::erase_if(starting_, [&](const auto& entry) { return present.contains(entry.first); });

  Pool pool;
  auto& numbers = pool.numbers;
  for (const auto& worker : workers) {
    first_seen_.emplace(worker.id, now);
    if (worker.draining || drain_requested_.contains(worker.id)) {
      ++numbers.draining;
      continue;
    }
    pool.active.push_back(&worker);
    ++numbers.workers;
    numbers.slots += std::max(worker.concurrency, 0);
    numbers.busy += std::max(worker.busy, 0);
  }
  numbers.starting = static_cast<int>(starting_.size());
  numbers.slots += numbers.starting * config_.worker_concurrency;
  numbers.ready = std::max(queue.ready, 0);
  numbers.running = std::max(queue.running, 0);
  numbers.oldest_wait_ms = std::max(queue.oldest_wait_ms, 0.0);
  numbers.demand = numbers.busy + numbers.ready;
  numbers.utilisation = numbers.slots > 0    ? static_cast<double>(numbers.demand) / numbers.slots
                        : numbers.demand > 0 ? std::numeric_limits<double>::infinity()
                                             : 0.0;
  numbers.min_workers = config_.min_workers;
  numbers.max_workers = config_.max_workers;

  const bool busy_high = numbers.utilisation > config_.high_utilisation;
  const bool wait_high = config_.queue_wait_high_ms > 0 && numbers.ready > 0 &&
                         numbers.oldest_wait_ms > config_.queue_wait_high_ms;
  pool.high = busy_high || wait_high;
  pool.high_why = busy_high
                      ? fmt::format("utilisation {} above {:.2f}",
                                    utilisation_text(numbers.utilisation), config_.high_utilisation)
                      : fmt::format("oldest ready task waited {:.0f} ms, above {:.0f} ms",
                                    numbers.oldest_wait_ms, config_.queue_wait_high_ms);
  const bool low = numbers.ready == 0 && numbers.utilisation < config_.low_utilisation;
  if (pool.high) {
    if (!high_since_) high_since_ = now;
  } else {
    high_since_.reset();
  }
  if (low) {
    if (!low_since_) low_since_ = now;
  } else {
    low_since_.reset();
  }
  numbers.high_for_ms = high_since_ ? (now - *high_since_).count() : 0;
  numbers.low_for_ms = low_since_ ? (now - *low_since_).count() : 0;

  // The pool that would run today's demand at the target utilisation, with workers the size
  // of today's (or of the ones we start, when there are none).
  const int current = pool.current();
  const double slots_per_worker = current > 0 && numbers.slots > 0
                                      ? static_cast<double>(numbers.slots) / current
                                      : static_cast<double>(config_.worker_concurrency);
  const double wanted =
      std::ceil(numbers.demand / (config_.target_utilisation * slots_per_worker) - 1e-9);
  numbers.desired =
      std::clamp(static_cast<int>(std::min(wanted, 1e6)), config_.min_workers, config_.max_workers);
  return pool;
}

bool Autoscaler::cooling_up(Millis now) const {
  return last_scale_up_ && now - *last_scale_up_ < config_.scale_up_cooldown;
}

bool Autoscaler::cooling_down(Millis now) const {
  return (last_scale_down_ && now - *last_scale_down_ < config_.scale_down_cooldown) ||
         (last_scale_up_ && now - *last_scale_up_ < config_.scale_down_cooldown);
}

Decision Autoscaler::scale_up(Millis now, const Pool& pool, int count, std::string reason) {
  last_scale_up_ = now;
  Decision decision;
  decision.kind = DecisionKind::scale_up;
  decision.count = count;
  decision.numbers = pool.numbers;
  decision.numbers.desired = pool.current() + count;
  decision.reason = std::move(reason);
  return decision;
}

std::optional<std::string> Autoscaler::pick_idle(const Pool& pool) const {
  const WorkerSample* best = nullptr;
  // Ours first (we can stop the process, not only ask it to leave), then the newest (the
  // oldest has proved itself, and keeps its warm caches), then the greatest id.
  const auto rank = [this](const WorkerSample& worker) {
    const auto seen = first_seen_.find(worker.id);
    return std::make_tuple(worker.launched_by_us,
                           seen == first_seen_.end() ? Millis::max() : seen->second, worker.id);
  };
  for (const auto* worker : pool.active) {
    if (worker->busy > 0) continue;
    if (best == nullptr || rank(*worker) > rank(*best)) best = worker;
  }
  if (best == nullptr) return std::nullopt;
  return best->id;
}

Decision Autoscaler::scale_down(Millis now, const Pool& pool, std::string reason) {
  Decision decision;
  decision.numbers = pool.numbers;
  const auto idle = pick_idle(pool);
  if (!idle) {
    decision.reason = reason + ", but every worker has tasks: none is drained";
    return decision;
  }
  last_scale_down_ = now;
  drain_requested_.insert(*idle);
  decision.kind = DecisionKind::scale_down;
  decision.worker = *idle;
  decision.numbers.desired = pool.current() - 1;
  decision.reason = fmt::format("{}: draining idle worker {} ({} -> {} workers)", reason, *idle,
                                pool.current(), pool.current() - 1);
  return decision;
}

Decision Autoscaler::evaluate(Millis now, const std::vector<WorkerSample>& workers,
                              const QueueSample& queue) {
  const Pool pool = measure(now, workers, queue);
  const auto& numbers = pool.numbers;
  const int current = pool.current();
  Decision none;
  none.numbers = numbers;

  if (!exited_early_.empty()) {
    Decision abandon;
    abandon.kind = DecisionKind::abandon_start;
    abandon.worker = exited_early_.front();
    abandon.numbers = numbers;
    abandon.reason = fmt::format(
        "worker {} exited before its first heartbeat: it is no longer counted", abandon.worker);
    exited_early_.erase(exited_early_.begin());
    return abandon;
  }
  for (auto it = starting_.begin(); it != starting_.end(); ++it) {
    const auto waited = now - it->second;
    if (waited < config_.boot_timeout) continue;
    Decision abandon;
    abandon.kind = DecisionKind::abandon_start;
    abandon.worker = it->first;
    abandon.numbers = numbers;
    --abandon.numbers.starting;
    abandon.numbers.slots -= config_.worker_concurrency;
    abandon.reason = fmt::format(
        "worker {} was started {:.1f} s ago and has not heartbeated (boot timeout "
        "{:.1f} s): it is stopped and no longer counted",
        it->first, seconds(waited), seconds(config_.boot_timeout));
    starting_.erase(it);
    return abandon;
  }

  if (settled_at_ && now < *settled_at_) {
    none.reason = fmt::format("settling for {:.1f} s more after gaining leadership",
                              seconds(*settled_at_ - now));
    return none;
  }

  if (current < config_.min_workers) {
    if (cooling_up(now)) {
      none.reason = fmt::format(
          "{} workers is below the minimum {}; the next start waits for the "
          "scale-up cooldown",
          current, config_.min_workers);
      return none;
    }
    return scale_up(now, pool, config_.min_workers - current,
                    fmt::format("{} workers (running and starting) is below the minimum {}",
                                current, config_.min_workers));
  }

  const bool high_held = high_since_ && now - *high_since_ >= config_.high_for;
  if (high_held) {
    const auto held = fmt::format("{} for {:.1f} s", pool.high_why, seconds(now - *high_since_));
    if (current >= config_.max_workers) {
      none.reason =
          fmt::format("{}, but already at the maximum of {} workers", held, config_.max_workers);
      return none;
    }
    if (cooling_up(now)) {
      none.reason = held + "; waiting for the scale-up cooldown";
      return none;
    }
    const int step = std::max(config_.step_up_min,
                              static_cast<int>(std::ceil(current * config_.step_up_ratio - 1e-9)));
    const int goal =
        std::min({std::max(numbers.desired, current + 1), current + step, config_.max_workers});
    return scale_up(now, pool, goal - current,
                    fmt::format("{}: {} -> {} workers (desired {} at target utilisation {:.2f}, "
                                "at most {} more per step, at most {})",
                                held, current, goal, numbers.desired, config_.target_utilisation,
                                step, config_.max_workers));
  }

  if (current > config_.max_workers && numbers.starting == 0) {
    if (cooling_down(now)) {
      none.reason = "above the maximum; waiting for the scale-down cooldown";
      return none;
    }
    return scale_down(
        now, pool, fmt::format("{} workers is above the maximum {}", current, config_.max_workers));
  }

  const bool low_held = low_since_ && now - *low_since_ >= config_.low_for;
  if (low_held && current > config_.min_workers) {
    const auto held = fmt::format("utilisation {} below {:.2f} for {:.1f} s",
                                  utilisation_text(numbers.utilisation), config_.low_utilisation,
                                  seconds(now - *low_since_));
    if (numbers.starting > 0) {
      none.reason = held + ", but workers are still starting";
      return none;
    }
    if (cooling_down(now)) {
      none.reason = held + "; waiting for the scale-down cooldown";
      return none;
    }
    return scale_down(now, pool, held);
  }

  if (high_since_) {
    none.reason = fmt::format("{} for {} ms of the {} ms that trigger a scale-up", pool.high_why,
                              (now - *high_since_).count(), config_.high_for.count());
  } else if (low_since_ && current > config_.min_workers) {
    none.reason = fmt::format(
        "utilisation {} below {:.2f} for {} ms of the {} ms that "
        "trigger a scale-down",
        utilisation_text(numbers.utilisation), config_.low_utilisation, (now - *low_since_).count(),
        config_.low_for.count());
  } else {
    none.reason = fmt::format("utilisation {} with {} workers: nothing to do",
                              utilisation_text(numbers.utilisation), current);
  }
  return none;
}

}  // namespace isla::tasks::autoscale
