#include "tasks/autoscale/scaler_driver.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>

namespace isla::tasks::autoscale {

ScalerDriver::ScalerDriver(AutoscalerConfig config, Launcher& launcher, ScalerCallbacks callbacks)
    : autoscaler_(std::move(config)), launcher_(launcher), callbacks_(std::move(callbacks)) {}

void ScalerDriver::on_gained_leadership(Millis now) {
  std::lock_guard lock(mutex_);
  leading_ = true;
  autoscaler_.reset(now);
}

void ScalerDriver::on_lost_leadership() {
  std::lock_guard lock(mutex_);
  leading_ = false;
}

bool ScalerDriver::leading() const {
  std::lock_guard lock(mutex_);
  return leading_;
}

Decision ScalerDriver::evaluate(Millis now, std::vector<WorkerSample> workers,
                                const QueueSample& queue) {
  std::lock_guard lock(mutex_);
  if (!leading_) {
    Decision idle;
    idle.reason = "not the store leader";
    return idle;
  }
  const auto ours = launcher_.running();
  for (auto& worker : workers) {
    if (std::find(ours.begin(), ours.end(), worker.id) != ours.end()) worker.launched_by_us = true;
  }
  autoscaler_.forget_exited(ours);
  auto decision = autoscaler_.evaluate(now, workers, queue);
  if (!decision.acts()) return decision;
  apply(now, decision, ours);
  spdlog::info("autoscale: {}: {}{}", to_string(decision.kind), decision.reason,
               decision.error.empty() ? "" : " (" + decision.error + ")");
  if (callbacks_.on_decision) callbacks_.on_decision(decision);
  return decision;
}

void ScalerDriver::apply(Millis now, Decision& decision, const std::vector<std::string>& ours) {
  const bool is_ours = std::find(ours.begin(), ours.end(), decision.worker) != ours.end();
  switch (decision.kind) {
    case DecisionKind::scale_up: {
      try {
        decision.started = launcher_.start(decision.count);
      } catch (const std::exception& error) {  // the contract says never, but be sure
        decision.started.clear();
        decision.error = error.what();
      }
      autoscaler_.started(decision.started, now);
      if (static_cast<int>(decision.started.size()) < decision.count) {
        const auto why = decision.error.empty() ? launcher_.last_error() : decision.error;
        decision.error = fmt::format("started {} of {}: {}; retrying after the scale-up cooldown",
                                     decision.started.size(), decision.count,
                                     why.empty() ? "the launcher gave no reason" : why);
      }
      break;
    }
    case DecisionKind::scale_down:
      if (is_ours) launcher_.stop(decision.worker);
      if (callbacks_.request_drain) callbacks_.request_drain(decision.worker);
      break;
    case DecisionKind::abandon_start:
      if (is_ours) launcher_.stop(decision.worker);
      break;
    case DecisionKind::none:
      break;
  }
}

}  // namespace isla::tasks::autoscale
