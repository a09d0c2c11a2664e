#pragma once
// Group commit: callers that arrive while earlier ones are on their way wait for a free
// sender and go together with the others that waited, in one batch, instead of one trip
// each. Under a trickle nothing waits (a sender is free); under load the batches grow by
// themselves. The gateway's SubmitForwarder (one request to the leader's gateway) and the
// task queue's SubmitBatcher (one store transaction) share this; each keeps its own rule for
// what may go in one batch and its own way of sending it.
//
// Each caller waits on its own Completion, on its own executor, until its deadline; the
// sender answers every item of the batch it took. A caller whose deadline passed can learn
// whether its item was still waiting (withdrawn: it was never sent) or a sender had it (it
// may have been applied).
#include <algorithm>
#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <utility>
#include <vector>

#include "net/asio.hpp"
#include "net/completion.hpp"

namespace isla::net {

template <class Item, class Result>
class GroupCommit {
 public:
  using Deadline = std::chrono::steady_clock::time_point;
  using Answer = Completion<Result>;
  struct Queued {
    Item item;
    Deadline deadline;
    std::shared_ptr<Answer> answer;  // the sender that takes the item completes it
  };
  using Batch = std::vector<Queued>;
  // Called under the lock with the queue in arrival order: moves the next batch out of it
  // and leaves the rest. An empty batch: nothing to send now, and the sender stops.
  using Take = std::function<Batch(std::vector<Queued>& queue)>;
  // Sends a batch and completes the answer of each of its items (or hands that on).
  using Send = std::function<asio::awaitable<void>(Batch batch)>;

  enum class OnTimeout {
    withdraw,  // an item no sender took yet leaves the queue with its caller: never sent
    leave,     // it stays, and goes with a later batch whose answer nobody waits for
  };
  struct Options {
    std::size_t max_in_flight = 1;  // senders at once (at least one)
    OnTimeout on_timeout = OnTimeout::withdraw;
  };

  struct Waited {
    std::optional<Result> answer;  // nullopt: the deadline came first
    // Without an answer: the item was still queued and is out of it now (OnTimeout::withdraw).
    bool withdrawn = false;
  };

  GroupCommit(Options options, Take take, Send send)
      : options_(options), take_(std::move(take)), send_(std::move(send)) {
    options_.max_in_flight = std::max<std::size_t>(options_.max_in_flight, 1);
  }
  GroupCommit(const GroupCommit&) = delete;
  GroupCommit& operator=(const GroupCommit&) = delete;

  // Queues `item`, starts a sender on the caller's executor when fewer than max_in_flight
  // run, and waits for the item's answer until `deadline`. A sender runs on past the caller,
  // and past the owner's other references: `keep_alive` is what keeps alive this and all
  // that `take` and `send` use (the owner's shared_from_this()).
  asio::awaitable<Waited> submit(Item item, Deadline deadline, std::shared_ptr<void> keep_alive) {
    const auto executor = co_await asio::this_coro::executor;
    auto answer = Answer::on(executor);
    bool start_sender = false;
    {
      std::lock_guard lock(mutex_);
      queue_.push_back(Queued{std::move(item), deadline, answer});
      if (in_flight_ < options_.max_in_flight) {
        ++in_flight_;
        start_sender = true;
      }
    }
    if (start_sender) {
      asio::co_spawn(
          executor,
          [this, keep = std::move(keep_alive)]() -> asio::awaitable<void> { co_await drain(); },
          asio::detached);
    }
    Waited waited;
    waited.answer = co_await answer->wait(deadline);
    if (waited.answer || options_.on_timeout == OnTimeout::leave) co_return waited;
    std::lock_guard lock(mutex_);
    auto mine = std::find_if(queue_.begin(), queue_.end(),
                             [&](const Queued& other) { return other.answer == answer; });
    if (mine != queue_.end()) {
      queue_.erase(mine);
      waited.withdrawn = true;
    }
    co_return waited;
  }

  // Items waiting for a sender now.
  std::size_t queued() const {
    std::lock_guard lock(mutex_);
    return queue_.size();
  }

  // For a Take: the items `admit` accepts, in order, into the batch; the others stay queued
  // in order. `admit` sees the batch so far and the next item.
  template <class Admit>
  static Batch take_in_order(std::vector<Queued>& queue, Admit&& admit) {
    Batch batch;
    std::vector<Queued> later;
    for (auto& next : queue) {
      if (admit(std::as_const(batch), std::as_const(next))) {
        batch.push_back(std::move(next));
      } else {
        later.push_back(std::move(next));
      }
    }
    queue = std::move(later);
    return batch;
  }

 private:
  asio::awaitable<void> drain() {
    for (;;) {
      Batch batch;
      {
        std::lock_guard lock(mutex_);
        batch = take_(queue_);
        if (batch.empty()) {
          --in_flight_;
          co_return;
        }
      }
      // Bound to a local first: GCC 12 mishandles temporaries in co_await expressions.
      auto sending = send_(std::move(batch));
      co_await std::move(sending);
    }
  }

  Options options_;
  Take take_;
  Send send_;
  mutable std::mutex mutex_;
  std::vector<Queued> queue_;
  std::size_t in_flight_ = 0;
};

}  // namespace isla::net
