// What GET /api/balancers makes of the balancers' admin /api/status: the fields the dashboard
// shows, and nothing but an "error" entry from an answer that is not a balancer's status.
#include "gateway/balancer_view.hpp"

#include <gtest/gtest.h>

namespace isla::gateway {
namespace {

namespace json = boost::json;

const char* kActive = R"({"role":"balancer","listen":"127.0.0.100:8080","state":"running",
  "serving":true,"secret_thing":"x",
  "pair":{"role":"active","term":7,"priority":200,"peer_alive":true,"holds_address":true,
          "self":"127.0.0.101:8082","peer":"127.0.0.102:8082","beats_sent":9},
  "backends":[{"address":"127.0.0.1:5235","up":true,"ejected":false,"pickable":true,"requests":4},
              {"address":"127.0.0.2:5235","up":false,"ejected":false,"pickable":false},
              {"address":"127.0.0.3:5235","up":true,"ejected":true,"pickable":false},
              {"up":true},"junk",{"address":17}]})";

TEST(BalancerView, KeepsRoleTermAndBackendHealth) {
  const auto summary = summarise_balancer("127.0.0.101:8081", kActive);
  EXPECT_EQ(summary.at("admin"), "127.0.0.101:8081");
  EXPECT_EQ(summary.at("reachable"), true);
  EXPECT_EQ(summary.at("role"), "active");
  EXPECT_EQ(summary.at("term").to_number<std::uint64_t>(), 7u);
  EXPECT_EQ(summary.at("peer_alive"), true);
  EXPECT_EQ(summary.at("listen"), "127.0.0.100:8080");
  EXPECT_FALSE(summary.contains("secret_thing"));
  EXPECT_FALSE(summary.contains("beats_sent"));
  const auto& backends = summary.at("backends").as_array();
  ASSERT_EQ(backends.size(), 3u) << "entries without a string address are dropped";
  EXPECT_EQ(backends[0].at("health"), "up");
  EXPECT_EQ(backends[1].at("health"), "down");
  EXPECT_EQ(backends[2].at("health"), "ejected");
  EXPECT_FALSE(backends[0].as_object().contains("requests"));
}

TEST(BalancerView, ABalancerWithoutPairIsSingle) {
  const auto summary =
      summarise_balancer("a:1", R"({"role":"balancer","pair":null,"backends":[]})");
  EXPECT_EQ(summary.at("role"), "single");
  EXPECT_TRUE(summary.at("backends").as_array().empty());
}

TEST(BalancerView, WhatIsNotABalancerStatusBecomesAnError) {
  for (const char* body : {"", "not json", "[1,2]", "{\"role\":\"gateway\"}", "{\"role\":5}",
                           "{\"role\":\"balancer\"", "null"}) {
    const auto summary = summarise_balancer("a:1", body);
    EXPECT_TRUE(summary.contains("error")) << body;
    EXPECT_FALSE(summary.contains("role")) << body;
  }
  // Fields of the wrong type are left out, not passed on.
  const auto odd = summarise_balancer(
      "a:1", R"({"role":"balancer","listen":5,"pair":{"role":3,"term":-4,"peer_alive":"yes"},
              "backends":{"address":"x"}})");
  EXPECT_EQ(odd.at("role"), "unknown");
  EXPECT_FALSE(odd.contains("term"));
  EXPECT_FALSE(odd.contains("peer_alive"));
  EXPECT_FALSE(odd.contains("listen"));
  EXPECT_TRUE(odd.at("backends").as_array().empty());
}

TEST(BalancerView, NamesTheActiveOneAndItsTerm) {
  json::array summaries;
  summaries.push_back(summarise_balancer("a:1", kActive));
  summaries.push_back(summarise_balancer(
      "b:1", R"({"role":"balancer","pair":{"role":"standby","term":7},"backends":[]})"));
  summaries.push_back(unreachable_balancer("c:1", "connection refused"));
  const auto view = balancers_view(summaries);
  EXPECT_EQ(view.at("active"), "a:1");
  EXPECT_EQ(view.at("term").to_number<std::uint64_t>(), 7u);
  EXPECT_EQ(view.at("balancers").as_array().size(), 3u);
  EXPECT_EQ(view.at("balancers").as_array()[2].at("reachable"), false);
}

TEST(BalancerView, TwoActiveOnesDuringATakeoverTheHigherTermWins) {
  json::array summaries;
  summaries.push_back(summarise_balancer(
      "old:1", R"({"role":"balancer","pair":{"role":"active","term":3},"backends":[]})"));
  summaries.push_back(summarise_balancer(
      "new:1", R"({"role":"balancer","pair":{"role":"active","term":4},"backends":[]})"));
  EXPECT_EQ(balancers_view(summaries).at("active"), "new:1");
}

TEST(BalancerView, NoneActiveIsNull) {
  json::array summaries;
  summaries.push_back(unreachable_balancer("a:1", "refused"));
  const auto view = balancers_view(summaries);
  EXPECT_TRUE(view.at("active").is_null());
  EXPECT_TRUE(view.at("term").is_null());
  EXPECT_TRUE(balancers_view({}).at("balancers").as_array().empty());
}

}  // namespace
}  // namespace isla::gateway
