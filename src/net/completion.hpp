#pragma once
// A one-shot result handed from any thread to a coroutine waiting on its own executor: the
// bridge between the Raft loop's thread and the HTTP handlers that wait for it.
//
// The completing side often outlives the waiter: a caller whose deadline passed goes away,
// and its io_context with it, while the Raft loop still holds the completion (a waiter it
// expires at its next tick, or drops when the node stops). So nothing here that belongs to
// the waiter's io_context may outlive the wait: the timer lives in wait()'s own frame and is
// destroyed with it, on the waiter's executor, and once the waiter has left, a completion
// reaches nothing of its (ThreadSanitizer found the old timer member destroyed after its
// io_context: RaftNode.ARunWhenAppliedBeyondSeesTheEntriesItWaitedFor).
#include <memory>
#include <mutex>
#include <optional>

#include "net/asio.hpp"

namespace isla::net {

template <class T>
class Completion {
 public:
  static std::shared_ptr<Completion> on(asio::any_io_executor executor) {
    return std::shared_ptr<Completion>(new Completion(std::move(executor)));
  }

  // Thread-safe; the first value wins, later ones (and any after the waiter left) are
  // dropped.
  static void complete(std::shared_ptr<Completion>&& completion, T value) {
    finish(std::move(completion), std::move(value));
  }

  // Thread-safe; wakes the waiter with no value (it sees nullopt at once, not at its
  // deadline).
  static void cancel(std::shared_ptr<Completion>&& completion) {
    finish(std::move(completion), std::nullopt);
  }

  // Waits on the executor given to on(); nullopt if the deadline passed first. Once.
  asio::awaitable<std::optional<T>> wait(std::chrono::steady_clock::time_point deadline) {
    asio::steady_timer timer(executor_, deadline);
    // Unregisters the timer however the frame ends, its io_context's shutdown included.
    struct Leave {
      Completion& self;
      ~Leave() {
        std::lock_guard lock(self.mutex_);
        self.timer_ = nullptr;
        self.finished_ = true;
      }
    };
    bool wait_needed = false;
    {
      std::lock_guard lock(mutex_);
      if (!finished_) {
        timer_ = &timer;
        wait_needed = true;
      }
    }
    Leave leave{*this};
    if (wait_needed) co_await timer.async_wait(use_nothrow);
    std::lock_guard lock(mutex_);
    auto value = std::move(value_);
    co_return value;
  }

 private:
  explicit Completion(asio::any_io_executor executor) : executor_(std::move(executor)) {}

  static void finish(std::shared_ptr<Completion>&& completion, std::optional<T> value) {
    // Always takes the caller's reference, even when there is nothing left to do.
    auto owned = std::move(completion);
    auto& state = *owned;
    std::lock_guard lock(state.mutex_);
    if (state.finished_) return;
    state.finished_ = true;
    state.value_ = std::move(value);
    if (state.timer_ == nullptr) return;  // not waiting yet: wait() sees finished_
    // The timer is touched only on its own executor. An expiry in the past also ends a wait
    // that has not started yet on a context run by several threads.
    asio::post(state.executor_, [self = owned] {  // a copy: `owned` outlives `lock`
      std::lock_guard lock(self->mutex_);
      if (self->timer_ != nullptr) {
        self->timer_->expires_at(std::chrono::steady_clock::time_point::min());
      }
    });
  }

  asio::any_io_executor executor_;
  std::mutex mutex_;
  asio::steady_timer* timer_ = nullptr;  // while wait() waits, on executor_
  std::optional<T> value_;
  bool finished_ = false;  // completed, cancelled, or the waiter left
};

}  // namespace isla::net
