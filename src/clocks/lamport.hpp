#pragma once
// Lamport's logical clock: every event advances it and every receipt pushes it past the
// sender's time, so that if a happened before b then L(a) < L(b) (the converse does not hold:
// vector_clock.hpp tells concurrent events apart).
//
// Not thread-safe, on purpose: it is a plain value for one strand. EventLog keeps one under
// its own lock, which is where the gateway's threads meet.
#include <cstdint>

namespace isla::clocks {

class LamportClock {
 public:
  std::uint64_t value() const { return value_; }
  // A local event, a send included; returns the event's time.
  std::uint64_t tick();
  // The receipt of a message sent at `remote`: max(ours, remote) + 1. Saturates at the largest
  // value rather than wrap to 0, which would put later events before earlier ones.
  std::uint64_t observe(std::uint64_t remote);

 private:
  std::uint64_t value_ = 0;
};

}  // namespace isla::clocks
