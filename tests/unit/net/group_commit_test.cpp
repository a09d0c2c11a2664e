// GroupCommit: what arrives while the senders are busy goes together in a later batch, no
// more senders run than allowed, and each caller hears its own answer, or, when its deadline
// came first, whether its item was still waiting (withdrawn) or a sender had it.
#include "net/group_commit.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <vector>

#include "support/run_coroutine.hpp"

namespace isla::net {
namespace {

// GCC 12's false -Wmismatched-new-delete on inlined Asio coroutine frames.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using testing::until;
using Group = GroupCommit<int, int>;

// A group of ints whose answer is ten times the item. Sends wait at a gate until the test
// opens it, so that the test sees what queues up behind a busy sender.
class GroupCommitTest : public ::testing::Test {
 protected:
  // At most `max_batch` items a batch, all odd or all even when `by_parity`.
  void make_group(std::size_t max_in_flight, Group::OnTimeout on_timeout, std::size_t max_batch,
                  bool by_parity = false) {
    group_ = std::make_shared<Group>(
        Group::Options{max_in_flight, on_timeout},
        [max_batch, by_parity](std::vector<Group::Queued>& queue) {
          return Group::take_in_order(
              queue, [&](const Group::Batch& batch, const Group::Queued& next) {
                if (batch.empty()) return true;
                return batch.size() < max_batch &&
                       (!by_parity || next.item % 2 == batch.front().item % 2);
              });
        },
        [this](Group::Batch batch) { return send(std::move(batch)); });
  }

  asio::awaitable<void> send(Group::Batch batch) {
    std::vector<int> items;
    for (const auto& queued : batch) items.push_back(queued.item);
    batches.push_back(items);
    peak_in_flight = std::max(peak_in_flight, ++in_flight);
    if (gated_) {
      asio::steady_timer gate(co_await asio::this_coro::executor, Clock::time_point::max());
      gates_.push_back(&gate);
      co_await gate.async_wait(use_nothrow);
    }
    --in_flight;
    for (auto& queued : batch) Group::Answer::complete(std::move(queued.answer), queued.item * 10);
  }

  void open_gates() {
    gated_ = false;
    for (auto* gate : gates_) gate->cancel();
    gates_.clear();
  }

  // Starts a caller that submits `item`; what it hears lands in waited[item].
  void submit(int item, std::chrono::milliseconds within = 5s) {
    asio::co_spawn(
        io_,
        [this, item, within]() -> asio::awaitable<void> {
          auto waiting = group_->submit(item, Clock::now() + within, group_);
          waited[item] = co_await std::move(waiting);
        },
        asio::detached);
  }

  // Item 2's deadline passes while it waits behind item 1, which the sender holds at its
  // gate; what was queued then lands in queued_when_2_left. Runs until the sender is done.
  void time_out_behind_a_busy_sender(Group::OnTimeout on_timeout) {
    make_group(1, on_timeout, 100);
    run([&]() -> asio::awaitable<void> {
      submit(1);
      EXPECT_TRUE(co_await until([&] { return batches.size() == 1; }));
      submit(2, 20ms);
      EXPECT_TRUE(co_await until([&] { return waited.contains(2); }));
      queued_when_2_left = group_->queued();
    });
  }

  // The gates open once `body` ends, whatever it saw: nothing is left waiting forever.
  void run(std::function<asio::awaitable<void>()> body) {
    testing::run_to_end(io_, std::move(body), [this] { open_gates(); });
  }

  asio::io_context io_;
  std::shared_ptr<Group> group_;
  bool gated_ = true;
  std::vector<asio::steady_timer*> gates_;

  std::vector<std::vector<int>> batches;
  int in_flight = 0;
  int peak_in_flight = 0;
  std::map<int, Group::Waited> waited;
  std::size_t queued_when_2_left = 0;
};

TEST_F(GroupCommitTest, ItemsThatArriveWhileTheSenderIsBusyGoTogether) {
  make_group(1, Group::OnTimeout::withdraw, 100);
  run([&]() -> asio::awaitable<void> {
    submit(1);
    EXPECT_TRUE(co_await until([&] { return batches.size() == 1; }));
    for (int item = 2; item <= 5; ++item) submit(item);
    EXPECT_TRUE(co_await until([&] { return group_->queued() == 4; }));
    open_gates();
    EXPECT_TRUE(co_await until([&] { return waited.size() == 5; }));
  });
  EXPECT_EQ(batches, (std::vector<std::vector<int>>{{1}, {2, 3, 4, 5}}));
  EXPECT_EQ(peak_in_flight, 1);
}

TEST_F(GroupCommitTest, NoMoreSendersRunThanAllowed) {
  make_group(2, Group::OnTimeout::withdraw, 1);
  run([&]() -> asio::awaitable<void> {
    for (int item = 1; item <= 6; ++item) submit(item);
    // Two senders hold one item each at their gates; a third would have taken the next.
    EXPECT_TRUE(co_await until([&] { return in_flight == 2 && group_->queued() == 4; }));
    open_gates();
    EXPECT_TRUE(co_await until([&] { return waited.size() == 6; }));
  });
  EXPECT_EQ(peak_in_flight, 2);
  EXPECT_EQ(batches.size(), 6u);
  EXPECT_EQ(group_->queued(), 0u);
}

TEST_F(GroupCommitTest, AnItemWhoseDeadlineCameBeforeASenderTookItIsWithdrawnUnsent) {
  time_out_behind_a_busy_sender(Group::OnTimeout::withdraw);
  EXPECT_EQ(queued_when_2_left, 0u);
  EXPECT_EQ(waited[2].answer, std::nullopt);
  EXPECT_TRUE(waited[2].withdrawn);
  EXPECT_EQ(waited[1].answer, 10);
  EXPECT_EQ(batches, (std::vector<std::vector<int>>{{1}})) << "the withdrawn item was sent";
}

TEST_F(GroupCommitTest, AnItemWhoseDeadlineCameAfterASenderTookItIsReportedTaken) {
  make_group(1, Group::OnTimeout::withdraw, 100);
  run([&]() -> asio::awaitable<void> {
    submit(1, 20ms);
    EXPECT_TRUE(co_await until([&] { return waited.contains(1); }));
  });
  EXPECT_EQ(waited[1].answer, std::nullopt);
  EXPECT_FALSE(waited[1].withdrawn);
  EXPECT_EQ(batches, (std::vector<std::vector<int>>{{1}}));
}

TEST_F(GroupCommitTest, LeftInTheQueueAnItemWhoseCallerLeftIsStillSent) {
  time_out_behind_a_busy_sender(Group::OnTimeout::leave);
  EXPECT_EQ(queued_when_2_left, 1u);
  EXPECT_EQ(waited[2].answer, std::nullopt);
  EXPECT_FALSE(waited[2].withdrawn);
  EXPECT_EQ(batches, (std::vector<std::vector<int>>{{1}, {2}}));
}

// Batches that skip items (odd and even apart) still answer each caller with its own value.
TEST_F(GroupCommitTest, EachCallerGetsItsOwnAnswer) {
  make_group(2, Group::OnTimeout::withdraw, 3, true);
  run([&]() -> asio::awaitable<void> {
    for (int item = 1; item <= 12; ++item) submit(item);
    EXPECT_TRUE(co_await until([&] { return in_flight == 2; }));
    open_gates();
    EXPECT_TRUE(co_await until([&] { return waited.size() == 12; }));
  });
  std::map<int, int> times_sent;
  for (const auto& batch : batches) {
    EXPECT_LE(batch.size(), 3u);
    for (int item : batch) {
      ++times_sent[item];
      EXPECT_EQ(item % 2, batch.front() % 2);
    }
  }
  EXPECT_TRUE(std::any_of(batches.begin(), batches.end(), [](const std::vector<int>& batch) {
    return batch.size() > 1;
  })) << "no batch passed over an item of the other parity";
  for (int item = 1; item <= 12; ++item) {
    EXPECT_EQ(times_sent[item], 1) << item;
    EXPECT_EQ(waited[item].answer, item * 10) << item;
  }
}

// A sender keeps what it uses alive by the caller's keep_alive, past the owner's last other
// reference.
TEST_F(GroupCommitTest, ASenderOutlivesTheOwnersOtherReferences) {
  make_group(1, Group::OnTimeout::withdraw, 100);
  std::weak_ptr<Group> owner = group_;
  run([&]() -> asio::awaitable<void> {
    submit(1, 20ms);
    EXPECT_TRUE(co_await until([&] { return waited.contains(1); }));
    group_.reset();
    EXPECT_FALSE(owner.expired()) << "the sender at the gate holds it";
  });
  EXPECT_TRUE(owner.expired());
  EXPECT_EQ(batches, (std::vector<std::vector<int>>{{1}}));
}

}  // namespace
}  // namespace isla::net
