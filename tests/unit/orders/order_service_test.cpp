// The order service on an in-memory store that fails the way the replicated one does:
// writes refused, writes applied whose answer is lost, writes lost whose outcome is
// unknown, other writers getting to an order first, a replica that is not the leader.
#include "orders/order_service.hpp"

#include <gtest/gtest.h>

#include <boost/asio/use_future.hpp>
#include <deque>
#include <future>
#include <set>

#include "orders/order_keys.hpp"
#include "support/memory_store.hpp"

namespace isla::orders {
namespace {

// GCC 12's false -Wmismatched-new-delete on inlined Asio coroutine frames.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

using namespace std::chrono_literals;
using store::StoreErrorCode;

enum class Fault {
  none,
  interfere,    // another writer changes the order just before this write
  lose_answer,  // applied; answered unknown_outcome
  lose_write,   // not applied; answered unknown_outcome (the caller cannot tell)
  refuse,       // not applied; answered unavailable
  not_leader,   // not applied; this replica does not lead
};

// Plays a script of faults on the transactions, one per transaction, over a MemoryStore.
class ScriptedStore final : public store::Store {
 public:
  explicit ScriptedStore(testing::MemoryStore& inner) : inner_(inner) {}
  void script(std::deque<Fault> faults) { faults_ = std::move(faults); }
  int txns() const { return txns_; }

  asio::awaitable<store::StoreResult<store::TxnResult>> txn(const store::Txn& txn,
                                                            store::Deadline deadline) override {
    ++txns_;
    const Fault fault = faults_.empty() ? Fault::none : faults_.front();
    if (!faults_.empty()) faults_.pop_front();
    using Result = store::StoreResult<store::TxnResult>;
    switch (fault) {
      case Fault::interfere: {
        const std::string key = txn.compares.front().key;
        auto found = co_await inner_.range(key, false, store::Consistency::linearizable, deadline);
        if (found.ok() && !found.value->kvs.empty()) {
          const auto rewrite = store::put_txn(key, found.value->kvs.front().value);
          co_await inner_.txn(rewrite, deadline);
        }
        break;
      }
      case Fault::lose_answer: {
        co_await inner_.txn(txn, deadline);
        co_return Result{std::nullopt, {StoreErrorCode::unknown_outcome, "answer lost", {}}};
      }
      case Fault::lose_write:
        co_return Result{std::nullopt, {StoreErrorCode::unknown_outcome, "leader lost", {}}};
      case Fault::refuse:
        co_return Result{std::nullopt, {StoreErrorCode::unavailable, "no leader", {}}};
      case Fault::not_leader:
        co_return Result{std::nullopt,
                         {StoreErrorCode::not_leader, "not the leader", "127.0.0.9:5235"}};
      case Fault::none:
        break;
    }
    co_return co_await inner_.txn(txn, deadline);
  }
  asio::awaitable<store::StoreResult<store::RangeResult>> range(const std::string& key, bool prefix,
                                                                store::Consistency consistency,
                                                                store::Deadline deadline) override {
    co_return co_await inner_.range(key, prefix, consistency, deadline);
  }
  asio::awaitable<store::StoreResult<store::WatchResult>> watch(const std::string& prefix,
                                                                store::Revision from,
                                                                store::Deadline until) override {
    co_return co_await inner_.watch(prefix, from, until);
  }
  asio::awaitable<store::StoreResult<store::Lease>> grant_lease(std::int64_t ttl_ms,
                                                                store::Deadline deadline) override {
    co_return co_await inner_.grant_lease(ttl_ms, deadline);
  }
  asio::awaitable<store::StoreResult<store::Lease>> keep_alive(store::LeaseId id,
                                                               store::Deadline deadline) override {
    co_return co_await inner_.keep_alive(id, deadline);
  }
  asio::awaitable<store::StoreResult<store::TxnResult>> revoke_lease(
      store::LeaseId id, store::Deadline deadline) override {
    co_return co_await inner_.revoke_lease(id, deadline);
  }

 private:
  testing::MemoryStore& inner_;
  std::deque<Fault> faults_;
  int txns_ = 0;
};

class Counting final : public OrderObserver {
 public:
  void on_created() override { ++created; }
  void on_added() override { ++added; }
  void on_duplicate(std::string_view operation) override { duplicates.emplace_back(operation); }
  void on_checkout() override { ++checkouts; }
  void on_conflict_retry() override { ++conflicts; }
  int created = 0, added = 0, checkouts = 0, conflicts = 0;
  std::vector<std::string> duplicates;
};

class OrderServiceTest : public ::testing::Test {
 protected:
  OrderServiceTest() : scripted_(memory_) { rebuild(); }

  void rebuild() {
    OrderServiceOptions options;
    options.limits = limits_;
    options.now_ms = [this] { return ++now_; };
    options.figure_known = [this](std::string_view figure) {
      return figures_.contains(std::string(figure));
    };
    options.observer = counts_;
    options.conflict_backoff = 1ms;
    service_ =
        std::make_unique<OrderService>(scripted_, options, std::make_unique<core::SeededRandom>(3));
  }

  // Runs one call of the service to its end.
  template <class T>
  T run(asio::awaitable<T> call) {
    auto future = asio::co_spawn(io_, std::move(call), asio::use_future);
    io_.restart();
    io_.run();
    return future.get();
  }

  store::Deadline soon() const { return std::chrono::steady_clock::now() + 5s; }

  Stored create(const std::string& subject = "alice", const std::string& key = "") {
    auto created = run(service_->create(subject, key, soon()));
    EXPECT_TRUE(created.ok()) << created.error.message;
    return created.ok() ? *created.value : Stored{};
  }

  OrderResult<Stored> add(const std::string& id, const std::string& figure, int quantity,
                          const std::string& key, const std::string& subject = "alice") {
    const AddRequest request{figure, quantity, key};
    return run(service_->add(subject, id, request, soon()));
  }

  std::vector<Item> items_of(const std::string& id, const std::string& subject = "alice") {
    auto found = run(service_->get(subject, id, soon()));
    EXPECT_TRUE(found.ok()) << found.error.message;
    return found.ok() ? found.value->order.items : std::vector<Item>{};
  }

  asio::io_context io_;
  testing::MemoryStore memory_{11};
  ScriptedStore scripted_;
  OrderLimits limits_;
  std::set<std::string> figures_{"giraffe", "lion", "owl"};
  std::shared_ptr<Counting> counts_ = std::make_shared<Counting>();
  std::int64_t now_ = 1'000;
  std::unique_ptr<OrderService> service_;
};

TEST_F(OrderServiceTest, ACreateWithAKeyMakesOneOrderHoweverOftenItIsSent) {
  auto first = create("alice", "c1");
  EXPECT_FALSE(first.duplicate);
  EXPECT_EQ(first.order.state, OrderState::open);
  auto again = create("alice", "c1");
  EXPECT_TRUE(again.duplicate);
  EXPECT_EQ(again.order.id, first.order.id);
  // Keys are the subject's own: bob's c1 is another order.
  auto bobs = create("bob", "c1");
  EXPECT_NE(bobs.order.id, first.order.id);
  EXPECT_FALSE(bobs.duplicate);
  // Without a key every create is a new order.
  EXPECT_NE(create().order.id, create().order.id);
  EXPECT_EQ(counts_->created, 4);
}

TEST_F(OrderServiceTest, ACreateWhoseAnswerWasLostIsFoundByItsKey) {
  scripted_.script({Fault::lose_answer});
  auto created = create("alice", "c1");
  EXPECT_EQ(memory_.dump(index_prefix(owner_segment("alice"))).size(), 1u);
  auto again = create("alice", "c1");
  EXPECT_EQ(again.order.id, created.order.id);
  EXPECT_EQ(memory_.dump(index_prefix(owner_segment("alice"))).size(), 1u);
}

TEST_F(OrderServiceTest, AnAddAppliedOnceWhenItsAnswerIsLostAndItIsSentAgain) {
  const auto order = create();
  scripted_.script({Fault::lose_answer});
  auto added = add(order.order.id, "giraffe", 2, "a1");
  ASSERT_TRUE(added.ok()) << added.error.message;
  EXPECT_EQ(added.value->item, 1);
  // The client never heard back (say the gateway died): it sends the add again, with the
  // same key, to another gateway.
  auto retried = add(order.order.id, "giraffe", 2, "a1");
  ASSERT_TRUE(retried.ok());
  EXPECT_TRUE(retried.value->duplicate);
  EXPECT_EQ(retried.value->item, 1);
  const auto items = items_of(order.order.id);
  ASSERT_EQ(items.size(), 1u);
  EXPECT_EQ(items[0].key, "a1");
  EXPECT_EQ(counts_->duplicates, std::vector<std::string>{"add"});
}

TEST_F(OrderServiceTest, AWriteLostBeforeItLandedIsWrittenAgainOnce) {
  const auto order = create();
  scripted_.script({Fault::lose_write});
  auto added = add(order.order.id, "lion", 1, "a1");
  ASSERT_TRUE(added.ok()) << added.error.message;
  EXPECT_EQ(items_of(order.order.id).size(), 1u);
}

TEST_F(OrderServiceTest, AfterAnUnknownOutcomeARefusalIsNotReportedAsNothingDone) {
  const auto order = create();
  scripted_.script({Fault::lose_write, Fault::refuse});
  auto added = add(order.order.id, "lion", 1, "a1");
  ASSERT_FALSE(added.ok());
  EXPECT_EQ(added.error.code, OrderErrorCode::store);
  EXPECT_EQ(added.error.store.code, StoreErrorCode::unknown_outcome);
  // A refusal alone says that nothing was done.
  scripted_.script({Fault::refuse});
  auto refused = add(order.order.id, "lion", 1, "a2");
  EXPECT_EQ(refused.error.store.code, StoreErrorCode::unavailable);
  EXPECT_TRUE(items_of(order.order.id).empty());
}

TEST_F(OrderServiceTest, ConflictsAreRetriedAndCounted) {
  const auto order = create();
  scripted_.script({Fault::interfere, Fault::interfere, Fault::interfere});
  auto added = add(order.order.id, "owl", 5, "a1");
  ASSERT_TRUE(added.ok()) << added.error.message;
  EXPECT_EQ(counts_->conflicts, 3);
  EXPECT_EQ(items_of(order.order.id).size(), 1u);
}

TEST_F(OrderServiceTest, EndlessConflictsGiveUpWithoutWriting) {
  const auto order = create();
  scripted_.script(std::deque<Fault>(8, Fault::interfere));
  auto added = add(order.order.id, "owl", 5, "a1");
  ASSERT_FALSE(added.ok());
  EXPECT_EQ(added.error.code, OrderErrorCode::contention);
  EXPECT_TRUE(items_of(order.order.id).empty());
}

TEST_F(OrderServiceTest, ConcurrentAddsAllLandOnceEach) {
  const auto order = create();
  memory_.set_faults({0, 0, 0, 1ms});  // every answer late: the adds overlap
  // Each of N adds loses its compare-and-swap at most N-1 times (once per other add that
  // lands first): 8 fit in the 8 attempts the service makes.
  constexpr int kAdds = 8;
  std::vector<std::future<OrderResult<Stored>>> futures;
  std::vector<AddRequest> requests;
  for (int i = 0; i < kAdds; ++i) requests.push_back({"owl", i + 1, "k" + std::to_string(i)});
  // Named: the coroutines start after this statement, and keep references to their arguments.
  const std::string subject = "alice";
  for (int i = 0; i < kAdds; ++i) {
    futures.push_back(asio::co_spawn(
        io_, service_->add(subject, order.order.id, requests[i], soon()), asio::use_future));
  }
  io_.restart();
  io_.run();
  std::set<std::int64_t> numbers;
  for (auto& future : futures) {
    auto result = future.get();
    ASSERT_TRUE(result.ok()) << result.error.message;
    numbers.insert(result.value->item);
  }
  EXPECT_EQ(numbers.size(), static_cast<std::size_t>(kAdds));
  const auto items = items_of(order.order.id);
  ASSERT_EQ(items.size(), static_cast<std::size_t>(kAdds));
  std::set<std::string> keys;
  for (const auto& item : items) keys.insert(item.key);
  EXPECT_EQ(keys.size(), static_cast<std::size_t>(kAdds));
  EXPECT_GT(counts_->conflicts, 0);
}

TEST_F(OrderServiceTest, AFollowerAnswersNotLeaderWithTheLeadersAddress) {
  const auto order = create();
  scripted_.script({Fault::not_leader});
  auto added = add(order.order.id, "owl", 1, "a1");
  ASSERT_FALSE(added.ok());
  EXPECT_EQ(added.error.store.code, StoreErrorCode::not_leader);
  EXPECT_EQ(added.error.store.leader_address, "127.0.0.9:5235");
  EXPECT_TRUE(items_of(order.order.id).empty());
}

TEST_F(OrderServiceTest, AnotherSubjectFindsNothing) {
  const auto order = create("alice", "c1");
  ASSERT_TRUE(add(order.order.id, "owl", 1, "a1").ok());
  const auto& id = order.order.id;
  EXPECT_EQ(run(service_->get("bob", id, soon())).error.code, OrderErrorCode::not_found);
  EXPECT_EQ(add(id, "owl", 1, "a2", "bob").error.code, OrderErrorCode::not_found);
  EXPECT_EQ(run(service_->checkout("bob", id, soon())).error.code, OrderErrorCode::not_found);
  EXPECT_EQ(run(service_->remove_item("bob", id, 1, soon())).error.code, OrderErrorCode::not_found);
  EXPECT_EQ(run(service_->remove("bob", id, soon())).error.code, OrderErrorCode::not_found);
  EXPECT_TRUE(run(service_->list("bob", "", 10, soon())).value->orders.empty());
  EXPECT_EQ(items_of(id).size(), 1u);
}

TEST_F(OrderServiceTest, UnknownFiguresAreRefusedButARetriedAddStillGetsItsFirstAnswer) {
  const auto order = create();
  ASSERT_TRUE(add(order.order.id, "giraffe", 1, "a1").ok());
  auto unknown = add(order.order.id, "unicorn", 1, "a2");
  EXPECT_EQ(unknown.error.code, OrderErrorCode::unknown_figure);
  figures_.erase("giraffe");  // its piece server left the island
  auto retried = add(order.order.id, "giraffe", 1, "a1");
  ASSERT_TRUE(retried.ok());
  EXPECT_TRUE(retried.value->duplicate);
  EXPECT_EQ(add(order.order.id, "giraffe", 1, "a3").error.code, OrderErrorCode::unknown_figure);
  // Forwarded from a gateway that checked it: not checked again.
  const AddRequest forwarded{"giraffe", 1, "a4"};
  auto taken = run(service_->add("alice", order.order.id, forwarded, soon(), false));
  EXPECT_TRUE(taken.ok());
}

TEST_F(OrderServiceTest, CheckoutClosesTheOrder) {
  const auto order = create();
  const auto& id = order.order.id;
  EXPECT_EQ(run(service_->checkout("alice", id, soon())).error.code, OrderErrorCode::empty);
  ASSERT_TRUE(add(id, "lion", 2, "a1").ok());
  auto done = run(service_->checkout("alice", id, soon()));
  ASSERT_TRUE(done.ok());
  EXPECT_EQ(done.value->order.state, OrderState::checked_out);
  EXPECT_FALSE(done.value->duplicate);
  auto again = run(service_->checkout("alice", id, soon()));
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again.value->duplicate);
  EXPECT_EQ(add(id, "lion", 2, "a2").error.code, OrderErrorCode::closed);
  EXPECT_TRUE(add(id, "lion", 2, "a1").ok());  // a late retry of an add made before
  EXPECT_EQ(counts_->checkouts, 1);
}

TEST_F(OrderServiceTest, LimitsOnItemsAndOrdersHold) {
  limits_.max_items = 2;
  limits_.max_orders = 2;
  rebuild();
  const auto order = create();
  ASSERT_TRUE(add(order.order.id, "owl", 1, "a1").ok());
  ASSERT_TRUE(add(order.order.id, "owl", 1, "a2").ok());
  EXPECT_EQ(add(order.order.id, "owl", 1, "a3").error.code, OrderErrorCode::full);
  create();
  auto third = run(service_->create("alice", "", soon()));
  EXPECT_EQ(third.error.code, OrderErrorCode::full);
  // Deleting one makes room.
  ASSERT_TRUE(run(service_->remove("alice", order.order.id, soon())).ok());
  EXPECT_TRUE(run(service_->create("alice", "", soon())).ok());
}

TEST_F(OrderServiceTest, RemovingAnItemIsIdempotent) {
  const auto order = create();
  const auto& id = order.order.id;
  ASSERT_TRUE(add(id, "owl", 1, "a1").ok());
  ASSERT_TRUE(add(id, "lion", 1, "a2").ok());
  auto removed = run(service_->remove_item("alice", id, 1, soon()));
  ASSERT_TRUE(removed.ok());
  EXPECT_FALSE(removed.value->duplicate);
  auto again = run(service_->remove_item("alice", id, 1, soon()));
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again.value->duplicate);
  EXPECT_EQ(run(service_->remove_item("alice", id, 3, soon())).error.code,
            OrderErrorCode::not_found);
  // The removed item's add, retried late, does not bring it back.
  ASSERT_TRUE(add(id, "owl", 1, "a1").ok());
  const auto items = items_of(id);
  ASSERT_EQ(items.size(), 1u);
  EXPECT_EQ(items[0].figure, "lion");
}

TEST_F(OrderServiceTest, ListingPagesThroughTheSubjectsOrdersOldestFirst) {
  std::vector<std::string> ids;
  for (int i = 0; i < 5; ++i) ids.push_back(create().order.id);
  create("bob");
  std::vector<std::string> seen;
  std::string after;
  for (int page = 0; page < 5; ++page) {
    auto listed = run(service_->list("alice", after, 2, soon()));
    ASSERT_TRUE(listed.ok());
    for (const auto& summary : listed.value->orders) seen.push_back(summary.id);
    after = listed.value->next;
    if (after.empty()) break;
  }
  std::sort(ids.begin(), ids.end());
  EXPECT_EQ(seen, ids);
}

TEST_F(OrderServiceTest, DeletingAnOrderFreesItsCreateKey) {
  const auto first = create("alice", "c1");
  ASSERT_TRUE(run(service_->remove("alice", first.order.id, soon())).ok());
  EXPECT_TRUE(memory_.dump(std::string(kOrdersPrefix)).empty());
  const auto second = create("alice", "c1");
  EXPECT_NE(second.order.id, first.order.id);
  EXPECT_FALSE(second.duplicate);
}

}  // namespace
}  // namespace isla::orders
