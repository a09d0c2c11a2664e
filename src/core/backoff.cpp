#include "core/backoff.hpp"

#include <algorithm>
#include <cmath>

namespace isla::core {

Backoff::Backoff(BackoffOptions options, Random& random) : options_(options), random_(random) {}

std::chrono::milliseconds Backoff::next() {
  const double cap = static_cast<double>(options_.max.count());
  const double grown =
      static_cast<double>(options_.initial.count()) * std::pow(options_.multiplier, attempt_);
  const double base = std::min(cap, grown);
  const double jitter = std::clamp(options_.jitter, 0.0, 1.0);
  const double delay = base * (1.0 - jitter) + base * jitter * random_.unit();
  // Stop growing the exponent once capped, so it never overflows however long we retry.
  if (grown < cap) ++attempt_;
  return std::chrono::milliseconds(static_cast<long long>(delay));
}

}  // namespace isla::core
