#include "membership/suspicion.hpp"

#include <algorithm>
#include <cmath>

namespace isla::membership {

Suspicion::Suspicion(std::string accuser, std::size_t wanted_confirmations, core::Duration min,
                     core::Duration max, core::SteadyTime start)
    : wanted_(wanted_confirmations), min_(min), max_(std::max(min, max)), start_(start) {
  accusers_.insert(std::move(accuser));
}

bool Suspicion::confirm(const std::string& accuser) {
  if (confirmations_ >= wanted_) return false;
  if (!accusers_.insert(accuser).second) return false;
  ++confirmations_;
  return true;
}

core::SteadyTime Suspicion::deadline() const {
  if (wanted_ == 0) return start_ + min_;
  // Logarithmic: the first confirmations, the most telling ones, shorten it the most.
  const double done = std::log(static_cast<double>(confirmations_) + 1.0) /
                      std::log(static_cast<double>(wanted_) + 1.0);
  const auto span = std::chrono::duration<double>(max_ - min_) * done;
  const auto timeout = max_ - std::chrono::duration_cast<core::Duration>(span);
  return start_ + std::max(timeout, min_);
}

}  // namespace isla::membership
