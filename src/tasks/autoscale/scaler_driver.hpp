#pragma once
// Ties the Autoscaler's decisions to a Launcher and reports each one. Only the store leader's
// gateway calls evaluate() (once a second, say); leadership changes reset the measurement
// windows, so a new leader never acts on a window its predecessor half measured.
//
// Thread-safe: one mutex serialises everything, callbacks included, so callbacks must not
// call back into the driver.
#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include "tasks/autoscale/launcher.hpp"
#include "tasks/autoscale/policy.hpp"

namespace isla::tasks::autoscale {

struct ScalerCallbacks {
  // Every decision that acts, after it was applied (ids started and any error filled in):
  // for the event log (kind "scaling", detail Decision::to_json()) and the `scaling` event.
  std::function<void(const Decision&)> on_decision = {};
  // A worker to drain: its next heartbeat is answered {"drain": true}. Called for every
  // scale-down; the workers this node launched are also sent SIGTERM through the launcher.
  std::function<void(const std::string& worker_id)> request_drain = {};
};

class ScalerDriver {
 public:
  // Throws std::invalid_argument for a bad configuration (AutoscalerConfig::problems()).
  ScalerDriver(AutoscalerConfig config, Launcher& launcher, ScalerCallbacks callbacks);

  // Decides and applies; returns the decision (kind none, saying why, when nothing was done,
  // including when this node does not lead). `now` is steady time.
  Decision evaluate(Millis now, std::vector<WorkerSample> workers, const QueueSample& queue);

  void on_gained_leadership(Millis now);
  void on_lost_leadership();
  bool leading() const;

 private:
  void apply(Millis now, Decision& decision, const std::vector<std::string>& ours);

  mutable std::mutex mutex_;
  Autoscaler autoscaler_;
  Launcher& launcher_;
  const ScalerCallbacks callbacks_;
  bool leading_ = false;
};

}  // namespace isla::tasks::autoscale
