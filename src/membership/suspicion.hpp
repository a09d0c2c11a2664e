#pragma once
// How long a suspected member has to refute before it is declared dead (Lifeguard's
// "dynamic suspicion timeout", as in hashicorp/memberlist's suspicion.go): the timeout starts
// at `max` and shrinks towards `min` as other members independently confirm the suspicion,
// because one member's failed probe may be its own fault but several agreeing rarely are.
#include <set>
#include <string>

#include "core/clock.hpp"

namespace isla::membership {

class Suspicion {
 public:
  // `accuser` is the member whose suspicion started it: its repeats are not confirmations.
  // With `wanted_confirmations` 0 the timeout is `min` from the start.
  Suspicion(std::string accuser, std::size_t wanted_confirmations, core::Duration min,
            core::Duration max, core::SteadyTime start);

  // Counts an accuser not heard before; true when that shortened the timeout (worth telling
  // the others about).
  bool confirm(const std::string& accuser);

  core::SteadyTime deadline() const;
  std::size_t confirmations() const { return confirmations_; }
  core::SteadyTime start() const { return start_; }

 private:
  std::size_t wanted_;
  core::Duration min_;
  core::Duration max_;
  core::SteadyTime start_;
  std::size_t confirmations_ = 0;
  std::set<std::string> accusers_;  // at most wanted_ + 1 entries
};

}  // namespace isla::membership
