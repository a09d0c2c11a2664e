#include "membership/replay_window.hpp"

#include <gtest/gtest.h>

namespace isla::membership {
namespace {

using namespace std::chrono_literals;
using V = ReplayVerdict;

// A wall clock that only moves when told to; datagrams are stamped with it unless a test
// says otherwise.
class ReplayWindowTest : public ::testing::Test {
 protected:
  V check(std::uint64_t seq, std::uint64_t incarnation = 100, const std::string& sender = "a") {
    return window_.check(sender, incarnation, seq, now_ms_, now_ms_);
  }

  std::uint64_t now_ms_ = 1'764'600'000'000;
  ReplayWindow window_{ReplayOptions{30s, 3}};
};

TEST_F(ReplayWindowTest, InOrderSequenceIsFreshAndADuplicateIsReplayed) {
  for (std::uint64_t seq = 1; seq <= 200; ++seq) ASSERT_EQ(check(seq), V::fresh) << seq;
  EXPECT_EQ(check(200), V::replayed);
  EXPECT_EQ(check(150), V::replayed);
}

TEST_F(ReplayWindowTest, ReorderWithinTheWindowIsAcceptedOnce) {
  EXPECT_EQ(check(10), V::fresh);
  EXPECT_EQ(check(12), V::fresh);
  EXPECT_EQ(check(11), V::fresh);  // overtaken on the way
  EXPECT_EQ(check(11), V::replayed);
  EXPECT_EQ(check(9), V::fresh);  // never seen, still inside the window
  EXPECT_EQ(check(12), V::replayed);
}

TEST_F(ReplayWindowTest, EdgesOfTheWindowAndJumpsBeyondIt) {
  EXPECT_EQ(check(1000), V::fresh);
  EXPECT_EQ(check(1000 - 63), V::fresh);  // the oldest slot the window holds
  EXPECT_EQ(check(1000 - 64), V::below_window);
  // A jump of exactly the window's width clears every bit: the old numbers are now below.
  EXPECT_EQ(check(1064), V::fresh);
  EXPECT_EQ(check(1000), V::below_window);
  EXPECT_EQ(check(1001), V::fresh);
  // A jump far beyond, then the bits shifted across the 64-bit word: 1063 is 1 behind.
  EXPECT_EQ(check(1'000'000), V::fresh);
  EXPECT_EQ(check(999'999), V::fresh);
  EXPECT_EQ(check(1'000'001), V::fresh);
  EXPECT_EQ(check(999'999), V::replayed);
  EXPECT_EQ(check(999'938), V::fresh);  // 63 behind 1'000'001
  EXPECT_EQ(check(999'937), V::below_window);
}

TEST_F(ReplayWindowTest, SequenceNumbersNearTheTopOfTheRangeDoNotWrap) {
  const std::uint64_t top = UINT64_MAX;
  EXPECT_EQ(check(top - 1), V::fresh);
  EXPECT_EQ(check(top), V::fresh);
  EXPECT_EQ(check(top), V::replayed);
  EXPECT_EQ(check(0), V::below_window);  // no wrap: a sender restarts with a new incarnation
  EXPECT_EQ(check(1, 101), V::fresh);
}

TEST_F(ReplayWindowTest, RestartWithANewIncarnationStartsAgainAndTheOldOneIsRefused) {
  EXPECT_EQ(check(500, 100), V::fresh);
  EXPECT_EQ(check(1, 101), V::fresh);
  EXPECT_EQ(check(2, 101), V::fresh);
  EXPECT_EQ(check(501, 100), V::old_incarnation);
  EXPECT_EQ(check(1, 101), V::replayed);
}

TEST_F(ReplayWindowTest, TimestampsOutsideTheSkewAreStaleOrFuture) {
  const auto check_sent = [&](std::uint64_t seq, std::int64_t offset_ms) {
    return window_.check("a", 100, seq, now_ms_ + static_cast<std::uint64_t>(offset_ms), now_ms_);
  };
  EXPECT_EQ(check_sent(1, 30'000), V::fresh);  // at the bound
  EXPECT_EQ(check_sent(2, -30'000), V::fresh);
  EXPECT_EQ(check_sent(3, 30'001), V::future);
  EXPECT_EQ(check_sent(4, -30'001), V::stale);
  EXPECT_EQ(window_.check("a", 100, 5, 0, now_ms_), V::stale);  // no timestamp at all
  // A captured datagram replayed after the skew is stale, even once its sender is forgotten.
  const auto captured_at = now_ms_;
  now_ms_ += 31'000;
  EXPECT_EQ(window_.check("a", 100, 6, captured_at, now_ms_), V::stale);
}

TEST_F(ReplayWindowTest, ASenderSilentForTwiceTheSkewStartsAfresh) {
  const auto sent = now_ms_;
  EXPECT_EQ(check(500, 100), V::fresh);
  now_ms_ += 59'000;
  EXPECT_EQ(check(1, 99), V::old_incarnation);
  now_ms_ += 2'000;  // silent (nothing fresh) for 61 s
  // Restarted after its clock was set back: a lower incarnation, and welcome.
  EXPECT_EQ(check(1, 99), V::fresh);
  EXPECT_EQ(check(1, 99), V::replayed);
  // What it sent before is stale by now, so forgetting it let nothing old through.
  EXPECT_EQ(window_.check("a", 100, 500, sent, now_ms_), V::stale);
}

TEST_F(ReplayWindowTest, RejectedTimestampsCreateNoSender) {
  EXPECT_EQ(window_.check("a", 100, 1, now_ms_ + 60'000, now_ms_), V::future);
  EXPECT_EQ(window_.senders(), 0u);
}

TEST_F(ReplayWindowTest, SendersAreBoundedAndTheLeastRecentlyHeardIsForgotten) {
  EXPECT_EQ(check(1, 100, "a"), V::fresh);
  EXPECT_EQ(check(1, 100, "b"), V::fresh);
  EXPECT_EQ(check(1, 100, "c"), V::fresh);
  EXPECT_EQ(check(2, 100, "a"), V::fresh);  // "b" is now the least recent
  EXPECT_EQ(check(1, 100, "d"), V::fresh);
  EXPECT_EQ(window_.senders(), 3u);
  EXPECT_EQ(check(2, 100, "a"), V::replayed);  // still remembered
  EXPECT_EQ(check(1, 100, "c"), V::replayed);
  EXPECT_EQ(check(1, 100, "b"), V::fresh);  // forgotten: only the skew bounds this
}

}  // namespace
}  // namespace isla::membership
