// Completion: a value handed from any thread to a coroutine on its own executor, and the
// waiter that leaves (deadline, shutdown) before the other side is done with it.
#include "net/completion.hpp"

#include <gtest/gtest.h>

#include <thread>

namespace isla::net {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

TEST(Completion, AValueFromAnotherThreadWakesTheWaiterBeforeItsDeadline) {
  asio::io_context io;
  std::optional<int> seen;
  Clock::duration waited{};
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        auto completion = Completion<int>::on(co_await asio::this_coro::executor);
        std::thread other([completion]() mutable {
          std::this_thread::sleep_for(20ms);  // the waiter is waiting by then, or not: both work
          Completion<int>::complete(std::move(completion), 7);
        });
        const auto started = Clock::now();
        seen = co_await completion->wait(Clock::now() + 30s);
        waited = Clock::now() - started;
        other.join();
      },
      asio::detached);
  io.run();
  EXPECT_EQ(seen, 7);
  EXPECT_LT(waited, 10s) << "woken by the value, not by the deadline";
}

TEST(Completion, AValueBeforeTheWaitIsThereAtOnceAndTheFirstValueWins) {
  asio::io_context io;
  std::optional<int> seen;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        auto completion = Completion<int>::on(co_await asio::this_coro::executor);
        auto first = completion;
        auto second = completion;
        Completion<int>::complete(std::move(first), 1);
        Completion<int>::complete(std::move(second), 2);
        seen = co_await completion->wait(Clock::now() + 30s);
      },
      asio::detached);
  const auto started = Clock::now();
  io.run();
  EXPECT_EQ(seen, 1);
  EXPECT_LT(Clock::now() - started, 10s);
}

TEST(Completion, CancelWakesTheWaiterWithNothing) {
  asio::io_context io;
  std::optional<int> seen = 99;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        auto completion = Completion<int>::on(co_await asio::this_coro::executor);
        std::thread other(
            [completion]() mutable { Completion<int>::cancel(std::move(completion)); });
        seen = co_await completion->wait(Clock::now() + 30s);
        other.join();
      },
      asio::detached);
  const auto started = Clock::now();
  io.run();
  EXPECT_EQ(seen, std::nullopt);
  EXPECT_LT(Clock::now() - started, 10s);
}

// The Raft loop often holds a completion longer than its waiter: the waiter's deadline
// passes, its io_context goes, and only then is the completion completed or dropped. Neither
// may reach the dead io_context (AddressSanitizer and ThreadSanitizer see it if they do).
TEST(Completion, AWaiterThatLeftTakesItsIoContextWithItSafely) {
  for (const bool complete_late : {true, false}) {
    std::shared_ptr<Completion<std::string>> held;
    std::optional<std::string> seen = "unset";
    {
      asio::io_context io;
      asio::co_spawn(
          io,
          [&]() -> asio::awaitable<void> {
            auto completion = Completion<std::string>::on(co_await asio::this_coro::executor);
            held = completion;
            seen = co_await completion->wait(Clock::now() + 20ms);
          },
          asio::detached);
      io.run();
    }
    EXPECT_EQ(seen, std::nullopt) << "the deadline passed";
    if (complete_late) {
      std::thread([&] { Completion<std::string>::complete(std::move(held), "late"); }).join();
    } else {
      std::thread([&] { held.reset(); }).join();
    }
    EXPECT_EQ(held, nullptr);
  }
}

// An io_context destroyed while its coroutine still waits (a server's shutdown): the waiting
// frame goes with it, and a completion afterwards finds nobody to wake.
TEST(Completion, AWaiterDestroyedMidWaitLeavesNothingBehind) {
  std::shared_ptr<Completion<int>> held;
  bool resumed = false;
  {
    asio::io_context io;
    asio::co_spawn(
        io,
        [&]() -> asio::awaitable<void> {
          auto completion = Completion<int>::on(co_await asio::this_coro::executor);
          held = completion;
          co_await completion->wait(Clock::now() + 1h);
          resumed = true;
        },
        asio::detached);
    io.run_for(50ms);  // the coroutine is now waiting; destroying io destroys its frame
    ASSERT_NE(held, nullptr);
  }
  std::thread([&] { Completion<int>::complete(std::move(held), 3); }).join();
  EXPECT_FALSE(resumed);
}

}  // namespace
}  // namespace isla::net
