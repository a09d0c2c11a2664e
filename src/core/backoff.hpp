#pragma once
// Capped exponential backoff with jitter, for anything that retries until a peer answers.
#include <chrono>

#include "core/random.hpp"

namespace isla::core {

struct BackoffOptions {
  std::chrono::milliseconds initial{100};  // first delay, before jitter
  std::chrono::milliseconds max{5000};     // no delay exceeds this
  double multiplier = 2.0;
  // Fraction of each delay that is randomised, so that many nodes restarted together
  // do not retry in lockstep (0 = none, 1 = "full jitter").
  double jitter = 0.5;
};

class Backoff {
 public:
  Backoff(BackoffOptions options, Random& random);

  // The delay to wait before the next attempt; grows until it reaches the cap.
  std::chrono::milliseconds next();
  void reset() { attempt_ = 0; }
  int attempts() const { return attempt_; }

 private:
  BackoffOptions options_;
  Random& random_;
  int attempt_ = 0;
};

}  // namespace isla::core
