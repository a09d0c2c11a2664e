#include "orders/order.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "orders/order_keys.hpp"
#include "store/system_keys.hpp"

namespace isla::orders {
namespace {

namespace json = boost::json;

Order sample() {
  Order order;
  order.id = make_order_id(1'700'000'000'000, 0xabcdef12);
  order.owner = "alice";
  order.created_ms = order.updated_ms = 5;
  return order;
}

AddRequest add_of(std::string figure, int quantity, std::string key) {
  return {std::move(figure), quantity, std::move(key)};
}

TEST(OrderIds, SortByCreationAndAreCheckedStrictly) {
  const auto early = make_order_id(1000, 0xffffffff);
  const auto late = make_order_id(1001, 0);
  EXPECT_LT(early, late);
  EXPECT_TRUE(is_order_id(early));
  EXPECT_FALSE(is_order_id(""));
  EXPECT_FALSE(is_order_id(early.substr(1)));
  EXPECT_FALSE(is_order_id("0123456789ABCDEF0123"));
  EXPECT_FALSE(is_order_id("../../../etc/passwd0"));
  EXPECT_TRUE(is_idempotency_key("a-1_b.c:9"));
  EXPECT_FALSE(is_idempotency_key("has space"));
  EXPECT_FALSE(is_idempotency_key(std::string(65, 'k')));
  EXPECT_FALSE(is_idempotency_key(""));
}

TEST(OrderRules, AnAddAppendsAnItemAndRemembersItsKey) {
  const OrderLimits limits;
  auto step = add_item(sample(), add_of("giraffe", 2, "k1"), limits, 10);
  ASSERT_EQ(step.verdict, Verdict::write);
  EXPECT_EQ(step.item, 1);
  ASSERT_EQ(step.next.items.size(), 1u);
  EXPECT_EQ(step.next.items[0], (Item{1, "giraffe", 2, 10, "k1"}));
  EXPECT_EQ(step.next.applied.at("k1"), (Applied{1, "giraffe", 2}));
  EXPECT_EQ(step.next.next_item, 2);
  EXPECT_EQ(step.next.updated_ms, 10);

  // The same add again: nothing to write, and the first item named.
  auto again = add_item(step.next, add_of("giraffe", 2, "k1"), limits, 11);
  EXPECT_EQ(again.verdict, Verdict::unchanged);
  EXPECT_EQ(again.item, 1);
  // The same key for something else is a mistake worth saying.
  auto reused = add_item(step.next, add_of("lion", 2, "k1"), limits, 11);
  EXPECT_EQ(reused.verdict, Verdict::key_reused);
  EXPECT_NE(reused.why.find("k1"), std::string::npos);
  auto second = add_item(step.next, add_of("giraffe", 2, "k2"), limits, 12);
  ASSERT_EQ(second.verdict, Verdict::write);
  EXPECT_EQ(second.item, 2);
}

TEST(OrderRules, LimitsHold) {
  OrderLimits limits;
  limits.max_items = 2;
  limits.max_adds = 3;
  Order order = sample();
  for (int i = 0; i < 2; ++i) {
    order = add_item(order, add_of("owl", 1, "k" + std::to_string(i)), limits, 1).next;
  }
  EXPECT_EQ(add_item(order, add_of("owl", 1, "k9"), limits, 1).verdict, Verdict::full);
  order = remove_item(order, 1, 2).next;
  order = add_item(order, add_of("owl", 1, "k2"), limits, 3).next;
  order = remove_item(order, 2, 4).next;
  // Two items held, but three adds made: the keys kept are bounded too.
  auto over = add_item(order, add_of("owl", 1, "k3"), limits, 5);
  EXPECT_EQ(over.verdict, Verdict::full);
  EXPECT_NE(over.why.find("adds"), std::string::npos);
}

TEST(OrderRules, RemovingIsIdempotentAndAKeyOfARemovedItemDoesNotAddItAgain) {
  const OrderLimits limits;
  Order order = add_item(sample(), add_of("frog", 3, "k1"), limits, 1).next;
  auto removed = remove_item(order, 1, 2);
  ASSERT_EQ(removed.verdict, Verdict::write);
  EXPECT_TRUE(removed.next.items.empty());
  EXPECT_EQ(remove_item(removed.next, 1, 3).verdict, Verdict::unchanged);
  EXPECT_EQ(remove_item(removed.next, 2, 3).verdict, Verdict::no_item);
  EXPECT_EQ(remove_item(removed.next, 0, 3).verdict, Verdict::no_item);
  EXPECT_EQ(add_item(removed.next, add_of("frog", 3, "k1"), limits, 4).verdict, Verdict::unchanged);
}

TEST(OrderRules, CheckoutClosesTheOrderButRetriesStillGetTheirAnswers) {
  const OrderLimits limits;
  EXPECT_EQ(checkout(sample(), 1).verdict, Verdict::empty);
  Order order = add_item(sample(), add_of("lion", 1, "k1"), limits, 1).next;
  auto done = checkout(order, 7);
  ASSERT_EQ(done.verdict, Verdict::write);
  EXPECT_EQ(done.next.state, OrderState::checked_out);
  EXPECT_EQ(done.next.checked_out_ms, 7);
  EXPECT_EQ(checkout(done.next, 8).verdict, Verdict::unchanged);
  EXPECT_EQ(add_item(done.next, add_of("lion", 1, "k2"), limits, 9).verdict, Verdict::closed);
  EXPECT_EQ(add_item(done.next, add_of("lion", 1, "k1"), limits, 9).verdict, Verdict::unchanged);
  EXPECT_EQ(remove_item(done.next, 1, 9).verdict, Verdict::closed);
}

TEST(OrderCodec, RoundTripsAndRefusesWhatItDidNotWrite) {
  const OrderLimits limits;
  Order order = add_item(sample(), add_of("lion", 4, "k1"), limits, 1).next;
  order = add_item(order, add_of("dragon", 1, "k2"), limits, 2).next;
  order = remove_item(order, 1, 3).next;
  order.create_key = "c-1";
  auto decoded = decode_order(encode_order(order));
  ASSERT_TRUE(decoded);
  EXPECT_EQ(*decoded, order);
  EXPECT_EQ(total_quantity(*decoded), 1);

  auto mutate = [&](auto change) {
    auto value = json::parse(encode_order(order)).as_object();
    change(value);
    return decode_order(json::serialize(value));
  };
  EXPECT_FALSE(decode_order(""));
  EXPECT_FALSE(decode_order("[]"));
  EXPECT_FALSE(mutate([](json::object& o) { o["id"] = "nope"; }));
  EXPECT_FALSE(mutate([](json::object& o) { o["state"] = "shipped"; }));
  EXPECT_FALSE(mutate([](json::object& o) { o["next_item"] = 2; }));  // item 2 exists
  EXPECT_FALSE(
      mutate([](json::object& o) { o["items"].as_array()[0].as_object()["figure"] = "X"; }));
  EXPECT_FALSE(
      mutate([](json::object& o) { o["items"].as_array()[0].as_object()["quantity"] = 0; }));
  EXPECT_FALSE(mutate([](json::object& o) {
    o["applied"].as_object()["bad key"] = o["applied"].as_object()["k1"];
  }));
  EXPECT_FALSE(mutate([](json::object& o) { o.erase("applied"); }));
  EXPECT_FALSE(mutate([](json::object& o) { o["create_key"] = "has space"; }));
}

// The KV API keeps clients away from the orders' keys (store/system_keys.hpp): every key the
// service writes must be under the prefix it guards.
TEST(OrderKeys, AreAllWhereTheKvApiHidesThem) {
  const auto owner = owner_segment("alice");
  EXPECT_EQ(owner.size(), 64u);
  EXPECT_NE(owner, owner_segment("bob"));
  for (const auto& key : {order_key(owner, "0123456789abcdef0123"),
                          index_key(owner, "0123456789abcdef0123"), create_key(owner, "k")}) {
    EXPECT_TRUE(store::is_private_key(key)) << key;
  }
  auto reading = [](store::RequestOp::Kind kind, std::string key) {
    store::Txn txn;
    store::RequestOp op;
    op.kind = kind;
    op.key = std::move(key);
    txn.success.push_back(op);
    return store::reads_private_keys(txn);
  };
  EXPECT_TRUE(reading(store::RequestOp::Kind::range, ""));
  EXPECT_TRUE(reading(store::RequestOp::Kind::range, "_isla/"));
  EXPECT_TRUE(reading(store::RequestOp::Kind::range, "_isla/orders/o/"));
  EXPECT_TRUE(reading(store::RequestOp::Kind::get, order_key(owner, "x")));
  EXPECT_FALSE(reading(store::RequestOp::Kind::range, "_isla/tasks/"));
  EXPECT_FALSE(reading(store::RequestOp::Kind::get, "_isla/orders"));
  store::Txn comparing;
  store::Compare compare;
  compare.key = order_key(owner, "x");
  comparing.compares.push_back(compare);
  EXPECT_TRUE(store::reads_private_keys(comparing));
}

}  // namespace
}  // namespace isla::orders
