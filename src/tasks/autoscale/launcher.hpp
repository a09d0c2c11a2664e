#pragma once
// Starts and stops workers for the autoscaler: local child processes now
// (LocalProcessLauncher), Kubernetes pods later. Every method is thread-safe.
//
// Failure: start() never throws. It returns the ids of the workers it did start, which may be
// fewer than asked (none at all when, say, the program cannot be executed); last_error() then
// says why. The autoscaler reports the shortfall and tries again after its scale-up cooldown,
// never in a tight loop. A worker that starts but dies before its first heartbeat drops out of
// running(); the autoscaler reports that too, and one that never heartbeats is stopped after
// the boot timeout.
#include <string>
#include <vector>

namespace isla::tasks::autoscale {

class Launcher {
 public:
  virtual ~Launcher() = default;
  // Starts `count` workers; returns the ids they will heartbeat with (their `--id`).
  virtual std::vector<std::string> start(int count) = 0;
  // Asks one of our workers to finish its tasks and leave. False when it is not ours or has
  // already gone.
  virtual bool stop(const std::string& worker_id) = 0;
  // The workers we started that are still alive (stopping ones included until they exit).
  virtual std::vector<std::string> running() = 0;
  // Why the last start() fell short; empty after a start() that started all it was asked.
  virtual std::string last_error() const = 0;
};

}  // namespace isla::tasks::autoscale
