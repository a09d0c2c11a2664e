#pragma once
// A connection's deadline that is cheap to move. Every request moves it (read the head within
// 10 s, write the answer within 10 s), and re-arming an Asio timer each time costs a timer-queue
// update and often a timerfd syscall. Here moving the deadline later is a store; the timer is
// armed only when the deadline moves earlier than the armed expiry, and when it fires early it
// re-arms itself for the current deadline. A busy connection touches its timer once per
// timeout period instead of twice per request.
#include <chrono>
#include <functional>
#include <memory>

#include "net/asio.hpp"

namespace isla::net {

class LazyDeadline {
 public:
  using Clock = std::chrono::steady_clock;

  // `on_expiry` runs on `executor`'s thread when the deadline passes; it typically cancels
  // the connection's socket. It never runs after this object is destroyed.
  LazyDeadline(asio::io_context::executor_type executor, std::function<void()> on_expiry);
  ~LazyDeadline();
  LazyDeadline(const LazyDeadline&) = delete;
  LazyDeadline& operator=(const LazyDeadline&) = delete;

  void expire_at(Clock::time_point at);
  void expire_after(Clock::duration delay) { expire_at(Clock::now() + delay); }
  void expire_never();
  // As expire_never(), and cancels the timer now, leaving no pending operation behind.
  void disarm();
  // Whether the deadline passed (and on_expiry ran); stays true until the next expire_*.
  bool expired() const;

 private:
  struct State;
  static void arm(const std::shared_ptr<State>& state, Clock::time_point at);
  std::shared_ptr<State> state_;
};

}  // namespace isla::net
