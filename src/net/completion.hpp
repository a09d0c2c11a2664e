#pragma once
// A one-shot result handed from any thread to a coroutine waiting on its own executor: the
// bridge between the Raft loop's thread and the HTTP handlers that wait for it.
#include <memory>
#include <optional>

#include "net/asio.hpp"

namespace isla::net {

template <class T>
class Completion {
 public:
  static std::shared_ptr<Completion> on(asio::any_io_executor executor) {
    return std::shared_ptr<Completion>(new Completion(std::move(executor)));
  }

  // Thread-safe; the first value wins, later ones are ignored. It takes the caller's
  // reference, so the completion (and its timer) is destroyed on its own executor, never on
  // the completing thread, which might otherwise outlive that executor's io_context.
  static void complete(std::shared_ptr<Completion>&& completion, T value) {
    auto& timer = completion->timer_;
    asio::post(timer.get_executor(),
               [self = std::move(completion), value = std::move(value)]() mutable {
                 if (self->value_) return;
                 self->value_ = std::move(value);
                 self->timer_.cancel();
               });
  }

  // Thread-safe; wakes the waiter with no value (it sees nullopt at once, not at its
  // deadline). Takes the caller's reference, as complete() does.
  static void cancel(std::shared_ptr<Completion>&& completion) {
    auto& timer = completion->timer_;
    asio::post(timer.get_executor(), [self = std::move(completion)] {
      self->cancelled_ = true;
      self->timer_.cancel();
    });
  }

  // Waits on the executor given to on(); nullopt if the deadline passed first.
  asio::awaitable<std::optional<T>> wait(std::chrono::steady_clock::time_point deadline) {
    if (!value_ && !cancelled_) {
      timer_.expires_at(deadline);
      co_await timer_.async_wait(use_nothrow);
    }
    co_return std::move(value_);
  }

 private:
  explicit Completion(asio::any_io_executor executor) : timer_(std::move(executor)) {}

  asio::steady_timer timer_;
  std::optional<T> value_;
  bool cancelled_ = false;
};

}  // namespace isla::net
