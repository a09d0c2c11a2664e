#include "clocks/lamport.hpp"

#include <algorithm>
#include <limits>

namespace isla::clocks {

namespace {

std::uint64_t successor(std::uint64_t value) {
  return value == std::numeric_limits<std::uint64_t>::max() ? value : value + 1;
}

}  // namespace

std::uint64_t LamportClock::tick() {
  return value_ = successor(value_);
}

std::uint64_t LamportClock::observe(std::uint64_t remote) {
  return value_ = successor(std::max(value_, remote));
}

}  // namespace isla::clocks
