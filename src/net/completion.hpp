#pragma once
// A one-shot result handed from any thread to a coroutine waiting on its own executor: the
// bridge between the Raft loop's thread and the HTTP handlers that wait for it.
#include <memory>
#include <optional>

#include "net/asio.hpp"

namespace isla::net {

template <class T>
class Completion : public std::enable_shared_from_this<Completion<T>> {
 public:
  static std::shared_ptr<Completion> on(asio::any_io_executor executor) {
    return std::shared_ptr<Completion>(new Completion(std::move(executor)));
  }

  // Thread-safe; the first value wins, later ones are ignored.
  void complete(T value) {
    asio::post(timer_.get_executor(),
               [self = this->shared_from_this(), value = std::move(value)]() mutable {
                 if (self->value_) return;
                 self->value_ = std::move(value);
                 self->timer_.cancel();
               });
  }

  // Thread-safe; wakes the waiter with no value (it sees nullopt at once, not at its deadline).
  void cancel() {
    asio::post(timer_.get_executor(), [self = this->shared_from_this()] {
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
