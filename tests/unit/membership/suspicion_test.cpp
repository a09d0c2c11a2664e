#include "membership/suspicion.hpp"

#include <gtest/gtest.h>

namespace isla::membership {
namespace {

using namespace std::chrono_literals;
const auto kStart = core::SteadyTime{} + 1h;

TEST(Suspicion, StartsAtMaxAndShrinksToMinWithIndependentConfirmations) {
  Suspicion suspicion("a", 2, 300ms, 900ms, kStart);
  EXPECT_EQ(suspicion.deadline(), kStart + 900ms);
  EXPECT_FALSE(suspicion.confirm("a")) << "the accuser repeating itself is no confirmation";
  EXPECT_TRUE(suspicion.confirm("b"));
  const auto after_one = suspicion.deadline();
  EXPECT_LT(after_one, kStart + 900ms);
  EXPECT_GT(after_one, kStart + 300ms);
  EXPECT_FALSE(suspicion.confirm("b"));
  EXPECT_EQ(suspicion.deadline(), after_one);
  EXPECT_TRUE(suspicion.confirm("c"));
  EXPECT_EQ(suspicion.deadline(), kStart + 300ms);
  EXPECT_FALSE(suspicion.confirm("d")) << "enough confirmations: no more are counted";
  EXPECT_EQ(suspicion.confirmations(), 2u);
}

TEST(Suspicion, WithNobodyToConfirmItIsMinFromTheStart) {
  Suspicion suspicion("a", 0, 300ms, 900ms, kStart);
  EXPECT_EQ(suspicion.deadline(), kStart + 300ms);
  EXPECT_FALSE(suspicion.confirm("b"));
}

}  // namespace
}  // namespace isla::membership
