#include "core/backoff.hpp"

#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

namespace isla::core {
namespace {

using std::chrono::milliseconds;

// Always returns the same value, so the jitter is predictable.
class ConstantRandom final : public Random {
 public:
  explicit ConstantRandom(std::uint64_t value) : value_(value) {}
  std::uint64_t next() override { return value_; }

 private:
  std::uint64_t value_;
};

TEST(Backoff, GrowsExponentiallyUntilTheCapWithoutJitter) {
  ConstantRandom random(0);
  Backoff backoff({milliseconds(100), milliseconds(1000), 2.0, 0.0}, random);
  EXPECT_EQ(backoff.next(), milliseconds(100));
  EXPECT_EQ(backoff.next(), milliseconds(200));
  EXPECT_EQ(backoff.next(), milliseconds(400));
  EXPECT_EQ(backoff.next(), milliseconds(800));
  EXPECT_EQ(backoff.next(), milliseconds(1000));
  EXPECT_EQ(backoff.next(), milliseconds(1000));
}

TEST(Backoff, ResetStartsOver) {
  ConstantRandom random(0);
  Backoff backoff({milliseconds(50), milliseconds(1000), 2.0, 0.0}, random);
  backoff.next();
  backoff.next();
  backoff.reset();
  EXPECT_EQ(backoff.next(), milliseconds(50));
}

TEST(Backoff, JitterTakesFromTheLowerPartOfTheDelay) {
  ConstantRandom low(0);
  Backoff backoff({milliseconds(1000), milliseconds(1000), 2.0, 0.5}, low);
  EXPECT_EQ(backoff.next(), milliseconds(500));
}

TEST(Backoff, KeepsAttemptCountBoundedOnceCapped) {
  ConstantRandom random(0);
  Backoff backoff({milliseconds(1), milliseconds(8), 2.0, 0.0}, random);
  for (int i = 0; i < 10'000; ++i) backoff.next();
  EXPECT_LE(backoff.attempts(), 4);
  EXPECT_EQ(backoff.next(), milliseconds(8));
}

RC_GTEST_PROP(BackoffProperty, EveryDelayStaysWithinJitterBandAndCap,
              (std::uint64_t seed, unsigned initial_ms, unsigned cap_ms)) {
  const auto initial = milliseconds(1 + initial_ms % 1000);
  const auto cap = std::max(initial, milliseconds(1 + cap_ms % 60'000));
  SeededRandom random(seed);
  Backoff backoff({initial, cap, 2.0, 0.5}, random);
  for (int i = 0; i < 40; ++i) {
    const auto delay = backoff.next();
    RC_ASSERT(delay <= cap);
    RC_ASSERT(delay.count() >= initial.count() / 2 - 1);
  }
}

}  // namespace
}  // namespace isla::core
