#include "orders/order_json.hpp"

#include <gtest/gtest.h>

namespace isla::orders {
namespace {

TEST(OrderBodies, AnAddNamesTheFieldAndTheRuleOfEachMistake) {
  const OrderLimits limits;
  struct Case {
    std::string body;
    std::string field;
  };
  const std::vector<Case> cases = {
      {R"({"quantity":1,"idempotency_key":"k"})", "figure"},
      {R"({"figure":"Giraffe","quantity":1,"idempotency_key":"k"})", "figure"},
      {R"({"figure":"-giraffe","quantity":1,"idempotency_key":"k"})", "figure"},
      {R"({"figure":7,"quantity":1,"idempotency_key":"k"})", "figure"},
      {R"({"figure":"giraffe","idempotency_key":"k"})", "quantity"},
      {R"({"figure":"giraffe","quantity":0,"idempotency_key":"k"})", "quantity"},
      {R"({"figure":"giraffe","quantity":1001,"idempotency_key":"k"})", "quantity"},
      {R"({"figure":"giraffe","quantity":"2","idempotency_key":"k"})", "quantity"},
      {R"({"figure":"giraffe","quantity":1.5,"idempotency_key":"k"})", "quantity"},
      {R"({"figure":"giraffe","quantity":-1,"idempotency_key":"k"})", "quantity"},
      {R"({"figure":"giraffe","quantity":18446744073709551615,"idempotency_key":"k"})", "quantity"},
      {R"({"figure":"giraffe","quantity":1})", "idempotency_key"},
      {R"({"figure":"giraffe","quantity":1,"idempotency_key":"has space"})", "idempotency_key"},
      {R"({"figure":"giraffe","quantity":1,"idempotency_key":""})", "idempotency_key"},
      {R"({"figure":"giraffe","quantity":1,"idempotency_key":"k","colour":"red"})", "colour"},
  };
  for (const auto& c : cases) {
    auto parsed = parse_add(c.body, limits);
    ASSERT_TRUE(std::holds_alternative<ApiError>(parsed)) << c.body;
    const auto& error = std::get<ApiError>(parsed);
    EXPECT_EQ(error.status, 400) << c.body;
    EXPECT_EQ(error.field, c.field) << c.body << " -> " << error.message;
    EXPECT_FALSE(error.rule.empty());
  }
  for (const std::string bad : {"", "[]", "{", "null", "\"x\""}) {
    auto parsed = parse_add(bad, limits);
    ASSERT_TRUE(std::holds_alternative<ApiError>(parsed)) << bad;
    EXPECT_EQ(std::get<ApiError>(parsed).status, 400);
  }
  auto good = parse_add(R"({"figure":"giraffe","quantity":1000,"idempotency_key":"k-1"})", limits);
  ASSERT_TRUE(std::holds_alternative<AddRequest>(good));
  EXPECT_EQ(std::get<AddRequest>(good).figure, "giraffe");
  EXPECT_EQ(std::get<AddRequest>(good).quantity, 1000);
  EXPECT_EQ(std::get<AddRequest>(good).key, "k-1");
}

TEST(OrderBodies, ALargeBodyIsRefusedWith413) {
  const std::string big = R"({"figure":"giraffe","quantity":1,"idempotency_key":"k","x":")" +
                          std::string(kMaxBodyBytes, 'a') + "\"}";
  auto parsed = parse_add(big, {});
  ASSERT_TRUE(std::holds_alternative<ApiError>(parsed));
  EXPECT_EQ(std::get<ApiError>(parsed).status, 413);
  EXPECT_EQ(std::get<ApiError>(parse_create(big)).status, 413);
}

TEST(OrderBodies, ACreateTakesNothingOrAKey) {
  EXPECT_TRUE(std::get<CreateBody>(parse_create("")).idempotency_key.empty());
  EXPECT_TRUE(std::get<CreateBody>(parse_create(" {} ")).idempotency_key.empty());
  EXPECT_EQ(std::get<CreateBody>(parse_create(R"({"idempotency_key":"c1"})")).idempotency_key,
            "c1");
  EXPECT_EQ(std::get<ApiError>(parse_create(R"({"key":"c1"})")).field, "key");
  EXPECT_EQ(std::get<ApiError>(parse_create(R"({"idempotency_key":5})")).field, "idempotency_key");
  EXPECT_EQ(std::get<ApiError>(parse_create("[1]")).status, 400);
}

TEST(OrderBodies, SummariesRoundTripAndClientsDoNotSeeTheKeysMap) {
  Order order;
  order.id = make_order_id(5, 6);
  order.items.push_back({1, "owl", 3, 9, "k1"});
  order.applied["k1"] = {1, "owl", 3};
  order.next_item = 2;
  const auto summary = summary_of(order);
  EXPECT_EQ(summary.items, 1);
  EXPECT_EQ(summary.quantity, 3);
  EXPECT_EQ(decode_summary(encode_summary(summary)), summary);
  EXPECT_FALSE(decode_summary(R"({"id":"x","state":"open"})"));
  auto shown = order_json(order, 42);
  EXPECT_EQ(shown.at("revision"), 42);
  EXPECT_EQ(shown.at("adds"), 1);
  EXPECT_FALSE(shown.contains("applied"));
  EXPECT_FALSE(shown.contains("owner"));
  EXPECT_EQ(shown.at("items").as_array()[0].at("idempotency_key"), "k1");
}

}  // namespace
}  // namespace isla::orders
