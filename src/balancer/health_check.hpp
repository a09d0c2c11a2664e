#pragma once
// The active health check of one backend, as HAProxy's `check inter 2s fall 3 rise 2`: `fall`
// failed checks in a row take an up backend down, `rise` passed ones in a row bring a down
// backend up. A result that agrees with the current state clears the streak, so a flapping
// backend (pass, fail, pass, ...) keeps the state it had. (HAProxy counts a bounded health
// score up and down instead; in a row is Envoy's rule, and simpler to reason about.)
//
// Pure: the driver probes the backend (GET /healthz with a timeout; a timeout is a failure),
// feeds each result with its time, applies the transitions to the BackendSet and sleeps until
// next_check(). No timer and no clock inside.
#include <chrono>

#include "core/clock.hpp"

namespace isla::balancer {

// HAProxy's `init-state`: how a backend starts, when added or at start-up.
enum class InitialState {
  fully_up,    // up; `fall` failures to go down
  up,          // up, but the first failure takes it down (HAProxy's default)
  down,        // down, but the first pass brings it up
  fully_down,  // down; `rise` passes to come up
};

struct HealthCheckOptions {
  std::chrono::milliseconds interval{2000};  // `inter`: between checks while the state is settled
  // `fastinter`: between checks while the state is changing (a streak has begun), to confirm
  // sooner. Zero: `interval`.
  std::chrono::milliseconds fast_interval{0};
  // `downinter`: between checks while settled down, to spare a dead backend. Zero: `interval`.
  std::chrono::milliseconds down_interval{0};
  int fall = 3;
  int rise = 2;
  InitialState initial = InitialState::up;
};

enum class HealthTransition { none, went_up, went_down };

class HealthCheck {
 public:
  // Throws std::invalid_argument on fall or rise below 1 or a non-positive interval. The
  // first check is due at `now`.
  HealthCheck(HealthCheckOptions options, core::SteadyTime now);

  HealthTransition record(bool passed, core::SteadyTime now);

  bool up() const { return up_; }
  // Results in a row against the current state, so far.
  int streak() const { return streak_; }
  std::chrono::milliseconds next_interval() const;
  core::SteadyTime next_check() const { return next_check_; }

 private:
  HealthCheckOptions options_;
  bool up_;
  int streak_;
  core::SteadyTime next_check_;
};

}  // namespace isla::balancer
