#include "balancer/proxy/admin_request.hpp"

#include <gtest/gtest.h>

#include "balancer/proxy/duration.hpp"

namespace isla::balancer {
namespace {

TEST(AdminRequestTest, AcceptsAnAddressAndAWeight) {
  auto parsed = parse_backend_body(R"({"address":"127.0.0.5:5235","weight":3})");
  ASSERT_TRUE(std::holds_alternative<BackendSpec>(parsed)) << std::get<std::string>(parsed);
  const auto& spec = std::get<BackendSpec>(parsed);
  EXPECT_EQ(spec.endpoint.str(), "127.0.0.5:5235");
  EXPECT_EQ(spec.weight, 3);
  auto defaulted = parse_backend_body(R"({"address":"gw1.local:80"})");
  ASSERT_TRUE(std::holds_alternative<BackendSpec>(defaulted));
  EXPECT_EQ(std::get<BackendSpec>(defaulted).weight, 1);
}

TEST(AdminRequestTest, NamesWhatIsWrongWithABadBody) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"not json", "not JSON"},
      {"[]", "JSON object"},
      {"{}", "'address'"},
      {R"({"address":5})", "'address'"},
      {R"({"address":"nohost"})", "HOST:PORT"},
      {R"({"address":"h:0"})", "port"},
      {R"({"address":"h:70000"})", "HOST:PORT"},
      {R"({"address":"a/b:80"})", "HOST:PORT"},
      {R"({"address":"a_b:80"})", "not valid"},
      {R"({"address":"h:1","weight":0})", "'weight'"},
      {R"({"address":"h:1","weight":257})", "'weight'"},
      {R"({"address":"h:1","weight":"2"})", "'weight'"},
      {R"({"address":"h:1","weight":1.5})", "'weight'"},
      {R"({"address":"h:1","extra":1})", "unknown field 'extra'"},
  };
  for (const auto& [body, expected] : cases) {
    auto parsed = parse_backend_body(body);
    ASSERT_TRUE(std::holds_alternative<std::string>(parsed)) << body;
    EXPECT_NE(std::get<std::string>(parsed).find(expected), std::string::npos)
        << body << " -> " << std::get<std::string>(parsed);
  }
}

TEST(AdminRequestTest, ParsesTheBackendsFlag) {
  auto list = parse_backend_list("127.0.0.1:5235, 127.0.0.2:5235=4,[::1]:80");
  ASSERT_EQ(list.size(), 3u);
  EXPECT_EQ(list[1].endpoint.str(), "127.0.0.2:5235");
  EXPECT_EQ(list[1].weight, 4);
  EXPECT_EQ(list[2].endpoint.host, "::1");
  EXPECT_THROW(parse_backend_list("127.0.0.1:1,127.0.0.1:1"), std::invalid_argument);
  EXPECT_THROW(parse_backend_list("127.0.0.1:1=0"), std::invalid_argument);
  EXPECT_THROW(parse_backend_list("127.0.0.1"), std::invalid_argument);
  EXPECT_TRUE(parse_backend_list("").empty());
}

TEST(DurationTest, ParsesHaproxyStyleDurations) {
  using std::chrono::milliseconds;
  EXPECT_EQ(parse_duration("2s"), milliseconds(2000));
  EXPECT_EQ(parse_duration("500ms"), milliseconds(500));
  EXPECT_EQ(parse_duration("250"), milliseconds(250));
  EXPECT_EQ(parse_duration("1m"), milliseconds(60'000));
  for (const auto* bad : {"", "0", "0s", "s", "2 s", "-1s", "2x", "2d", "99999999999999s"}) {
    EXPECT_THROW(parse_duration(bad), std::invalid_argument) << bad;
  }
}

}  // namespace
}  // namespace isla::balancer
