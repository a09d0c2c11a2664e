#include "net/lazy_deadline.hpp"

namespace isla::net {

struct LazyDeadline::State {
  State(asio::io_context::executor_type executor, std::function<void()> callback)
      : timer(executor), on_expiry(std::move(callback)) {}
  asio::basic_waitable_timer<Clock, asio::wait_traits<Clock>, asio::io_context::executor_type>
      timer;
  std::function<void()> on_expiry;
  Clock::time_point deadline = Clock::time_point::max();
  Clock::time_point armed_for = Clock::time_point::max();
  // Moving the timer cannot recall a wake-up already queued; the generation tells a stale
  // wake-up from the current one.
  std::uint64_t generation = 0;
  bool expired = false;
};

LazyDeadline::LazyDeadline(asio::io_context::executor_type executor,
                           std::function<void()> on_expiry)
    : state_(std::make_shared<State>(executor, std::move(on_expiry))) {}

LazyDeadline::~LazyDeadline() {
  state_->on_expiry = nullptr;
  state_->timer.cancel();
}

void LazyDeadline::expire_at(Clock::time_point at) {
  auto& state = *state_;
  state.deadline = at;
  state.expired = false;
  if (at < state.armed_for) arm(state_, at);
}

void LazyDeadline::expire_never() {
  state_->deadline = Clock::time_point::max();
  state_->expired = false;
}

void LazyDeadline::disarm() {
  expire_never();
  state_->armed_for = Clock::time_point::max();
  ++state_->generation;
  state_->timer.cancel();
}

bool LazyDeadline::expired() const {
  return state_->expired;
}

void LazyDeadline::arm(const std::shared_ptr<State>& state, Clock::time_point at) {
  state->armed_for = at;
  const auto generation = ++state->generation;
  state->timer.expires_at(at);
  state->timer.async_wait([state, generation](const boost::system::error_code& error) {
    if (error || generation != state->generation || !state->on_expiry) return;
    state->armed_for = Clock::time_point::max();
    if (state->deadline == Clock::time_point::max()) return;
    if (Clock::now() < state->deadline) {
      arm(state, state->deadline);
      return;
    }
    state->expired = true;
    state->on_expiry();
  });
}

}  // namespace isla::net
