#pragma once
// The worker's time seam: it reads the time and waits for a time to come, so tests drive
// its lease extensions, heartbeats and retries with a fake clock instead of waiting.
#include <condition_variable>
#include <mutex>

#include "core/clock.hpp"

namespace isla::tasks {

class WorkerClock : public core::Clock {
 public:
  // Waits on `changed` (whose mutex `lock` holds) until notified or until `until` has come
  // by this clock. May return early; callers re-check what they wait for.
  virtual void wait_until(std::condition_variable& changed, std::unique_lock<std::mutex>& lock,
                          core::SteadyTime until) const = 0;
};

class RealWorkerClock final : public WorkerClock {
 public:
  core::SteadyTime now() const override { return std::chrono::steady_clock::now(); }
  void wait_until(std::condition_variable& changed, std::unique_lock<std::mutex>& lock,
                  core::SteadyTime until) const override {
    changed.wait_until(lock, until);
  }
};

}  // namespace isla::tasks
