#include "balancer/health_check.hpp"

#include <stdexcept>

namespace isla::balancer {

namespace {

void validate(const HealthCheckOptions& options) {
  if (options.fall < 1 || options.rise < 1) {
    throw std::invalid_argument("health check: fall and rise must be at least 1");
  }
  using std::chrono::milliseconds;
  if (options.interval <= milliseconds::zero() || options.fast_interval < milliseconds::zero() ||
      options.down_interval < milliseconds::zero()) {
    throw std::invalid_argument(
        "health check: the interval must be positive (fast and down: 0 means the interval)");
  }
}

// The streak a start state begins with: one short of flipping for the two "soft" states.
int initial_streak(const HealthCheckOptions& options) {
  switch (options.initial) {
    case InitialState::up:
      return options.fall - 1;
    case InitialState::down:
      return options.rise - 1;
    case InitialState::fully_up:
    case InitialState::fully_down:
      break;
  }
  return 0;
}

}  // namespace

HealthCheck::HealthCheck(HealthCheckOptions options, core::SteadyTime now)
    : options_(options),
      up_(options.initial == InitialState::fully_up || options.initial == InitialState::up),
      streak_(initial_streak(options)),
      next_check_(now) {
  validate(options_);
}

HealthTransition HealthCheck::record(bool passed, core::SteadyTime now) {
  auto transition = HealthTransition::none;
  if (passed == up_) {
    streak_ = 0;
  } else if (++streak_ >= (up_ ? options_.fall : options_.rise)) {
    up_ = passed;
    streak_ = 0;
    transition = up_ ? HealthTransition::went_up : HealthTransition::went_down;
  }
  next_check_ = now + next_interval();
  return transition;
}

std::chrono::milliseconds HealthCheck::next_interval() const {
  const auto or_interval = [this](std::chrono::milliseconds given) {
    return given.count() > 0 ? given : options_.interval;
  };
  if (streak_ > 0) return or_interval(options_.fast_interval);
  return up_ ? options_.interval : or_interval(options_.down_interval);
}

}  // namespace isla::balancer
