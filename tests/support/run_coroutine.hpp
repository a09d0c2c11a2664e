#pragma once
// For unit tests that drive coroutines on an io_context: a detached coroutine's exception
// would otherwise be lost (a failed test passing), and a test that waits for something to
// happen on the context must not sleep on a guess.
#include <chrono>
#include <exception>
#include <functional>
#include <optional>
#include <utility>

#include "net/asio.hpp"

namespace isla::testing {

// Runs `body` on `context` until the context has nothing left to do, and rethrows what
// `body` threw. `after` runs on the context once `body` has ended, however it ended: there
// the test stops what would keep the context busy forever (a queue's loop, a closed gate).
inline void run_to_end(asio::io_context& context, std::function<asio::awaitable<void>()> body,
                       std::function<void()> after = {}) {
  std::exception_ptr failure;
  asio::co_spawn(
      context,
      [&]() -> asio::awaitable<void> {
        try {
          co_await body();
        } catch (...) {
          failure = std::current_exception();
        }
        if (after) after();
      },
      asio::detached);
  context.run();
  if (failure) std::rethrow_exception(failure);
}

// One coroutine on an io_context of its own, to its end: its value, or what it threw.
template <class T>
T run(asio::awaitable<T> call) {
  asio::io_context context;
  std::optional<T> result;
  run_to_end(context, [&]() -> asio::awaitable<void> { result = co_await std::move(call); });
  return std::move(*result);
}

// Inside a coroutine: polls every millisecond until `condition` holds; false once `within`
// passed without it.
inline asio::awaitable<bool> until(std::function<bool()> condition,
                                   std::chrono::milliseconds within = std::chrono::seconds(5)) {
  const auto give_up = std::chrono::steady_clock::now() + within;
  while (!condition()) {
    if (std::chrono::steady_clock::now() > give_up) co_return false;
    asio::steady_timer timer(co_await asio::this_coro::executor, std::chrono::milliseconds(1));
    co_await timer.async_wait(net::use_nothrow);
  }
  co_return true;
}

}  // namespace isla::testing
