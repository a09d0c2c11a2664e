#pragma once
// The time seam: everything that decides by time takes a Clock, so tests can drive time by hand.
#include <atomic>
#include <chrono>
#include <cstdint>

namespace isla::core {

using SteadyTime = std::chrono::steady_clock::time_point;
using Duration = std::chrono::steady_clock::duration;

class Clock {
 public:
  virtual ~Clock() = default;
  virtual SteadyTime now() const = 0;
};

class SteadyClock final : public Clock {
 public:
  SteadyTime now() const override { return std::chrono::steady_clock::now(); }
  static SteadyClock& instance() {
    static SteadyClock clock;
    return clock;
  }
};

// A clock that only moves when told to; safe to read from several threads.
class FakeClock final : public Clock {
 public:
  explicit FakeClock(SteadyTime start = SteadyTime{} + std::chrono::hours(1)) : now_(start) {}
  SteadyTime now() const override { return now_.load(); }
  void advance(Duration by) { now_.store(now_.load() + by); }

 private:
  std::atomic<SteadyTime> now_;
};

// Milliseconds since the Unix epoch by the system clock: the time other machines compare
// (datagram and request timestamps, token expiry, incarnations that grow across restarts).
inline std::int64_t wall_clock_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

inline long long millis_between(SteadyTime from, SteadyTime to) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(to - from).count();
}

}  // namespace isla::core
