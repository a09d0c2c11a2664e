#pragma once
// Lifeguard's local health awareness (hashicorp/memberlist's awareness.go): a score that grows
// when this node shows signs of being the slow one (its probes fail although the relays it
// asked did not answer either, it had to refute a suspicion about itself) and shrinks with
// every probe that succeeds. Timeouts are stretched by it, so an overloaded node probes less
// often and waits longer before accusing anyone.
#include <algorithm>

#include "core/clock.hpp"

namespace isla::membership {

class LocalHealth {
 public:
  // The score stays in [0, max_score].
  explicit LocalHealth(int max_score) : max_(std::max(0, max_score)) {}

  void apply(int delta) { score_ = std::clamp(score_ + delta, 0, max_); }
  int score() const { return score_; }
  // A healthy node (score 0) uses `base` as is; each point adds another `base`.
  core::Duration scale(core::Duration base) const { return base * (score_ + 1); }

 private:
  int max_;
  int score_ = 0;
};

}  // namespace isla::membership
