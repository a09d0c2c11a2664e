#pragma once
// How loaded a backend is, for the pickers that prefer the least loaded: requests in flight
// per unit of weight, as HAProxy's leastconn weighs them.
#include <compare>
#include <cstdint>

#include "balancer/backend_set.hpp"

namespace isla::balancer {

// Compares (active + 1) / weight without dividing. The +1 lets weight speak between idle
// backends too: an idle backend of weight 4 is less loaded than an idle one of weight 1.
inline std::strong_ordering compare_load(const Backend& a, const Backend& b) {
  const auto load_a = std::int64_t{a.active_requests + 1} * b.weight;
  const auto load_b = std::int64_t{b.active_requests + 1} * a.weight;
  return load_a <=> load_b;
}

}  // namespace isla::balancer
