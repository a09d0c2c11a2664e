// The connection deadline that moves later without touching its timer.
#include "net/lazy_deadline.hpp"

#include <gtest/gtest.h>

namespace isla::net {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

TEST(LazyDeadline, FiresAtTheLatestDeadlineNotTheFirstArmed) {
  asio::io_context context;
  std::optional<Clock::time_point> fired;
  LazyDeadline deadline(context.get_executor(), [&] { fired = Clock::now(); });
  const auto start = Clock::now();
  deadline.expire_at(start + 20ms);
  deadline.expire_at(start + 120ms);  // later: only stored
  context.run();
  ASSERT_TRUE(fired.has_value());
  EXPECT_GE(*fired - start, 120ms);
  EXPECT_TRUE(deadline.expired());
}

TEST(LazyDeadline, AnEarlierDeadlineRearmsAndExpireNeverStopsIt) {
  asio::io_context context;
  int fired = 0;
  LazyDeadline deadline(context.get_executor(), [&] { ++fired; });
  const auto start = Clock::now();
  deadline.expire_at(start + 10s);
  deadline.expire_at(start + 20ms);  // earlier: re-armed
  context.run_for(2s);
  EXPECT_EQ(fired, 1);
  EXPECT_LT(Clock::now() - start, 2s);  // run() returned once nothing was pending

  context.restart();
  deadline.expire_after(20ms);
  deadline.expire_never();
  context.run_for(2s);
  EXPECT_EQ(fired, 1);
  EXPECT_FALSE(deadline.expired());
}

TEST(LazyDeadline, DisarmLeavesNoPendingWork) {
  asio::io_context context;
  bool fired = false;
  LazyDeadline deadline(context.get_executor(), [&] { fired = true; });
  deadline.expire_after(10s);
  deadline.disarm();
  const auto start = Clock::now();
  context.run();  // returns at once: an idle pool must not keep run() going
  EXPECT_LT(Clock::now() - start, 5s);
  EXPECT_FALSE(fired);
}

TEST(LazyDeadline, NeverCallsBackAfterDestruction) {
  asio::io_context context;
  bool fired = false;
  {
    LazyDeadline deadline(context.get_executor(), [&] { fired = true; });
    deadline.expire_after(10ms);
  }
  context.run();
  EXPECT_FALSE(fired);
}

}  // namespace
}  // namespace isla::net
