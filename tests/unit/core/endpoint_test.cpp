#include "core/endpoint.hpp"

#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

namespace isla::core {
namespace {

TEST(Endpoint, ParsesHostAndPort) {
  auto endpoint = parse_endpoint("127.0.1.11:1233");
  ASSERT_TRUE(endpoint);
  EXPECT_EQ(endpoint->host, "127.0.1.11");
  EXPECT_EQ(endpoint->port, 1233);
}

TEST(Endpoint, UsesTheDefaultPortForABareHost) {
  EXPECT_EQ(parse_endpoint("127.0.0.1", 5235), (Endpoint{"127.0.0.1", 5235}));
  EXPECT_FALSE(parse_endpoint("127.0.0.1"));
}

TEST(Endpoint, ParsesBracketedIpv6) {
  auto endpoint = parse_endpoint("[::1]:5235");
  ASSERT_TRUE(endpoint);
  EXPECT_EQ(endpoint->host, "::1");
  EXPECT_EQ(endpoint->str(), "[::1]:5235");
}

TEST(Endpoint, RejectsNonsense) {
  for (const char* bad : {"", ":", "host:", "host:0", "host:65536", "host:12x", "a b:1", "::1:80",
                          "[::1", "[::1]x", "h/../:80"}) {
    EXPECT_FALSE(parse_endpoint(bad, 0)) << bad;
  }
}

TEST(Endpoint, ListNamesTheBadElement) {
  EXPECT_EQ(parse_endpoint_list("127.0.0.1:1,127.0.0.2", 5235).size(), 2u);
  try {
    parse_endpoint_list("127.0.0.1:1,bad:port", 5235);
    FAIL() << "expected an exception";
  } catch (const std::invalid_argument& error) {
    EXPECT_NE(std::string(error.what()).find("bad:port"), std::string::npos);
  }
}

RC_GTEST_PROP(EndpointProperty, StrRoundTrips,
              (std::uint8_t a, std::uint8_t b, std::uint16_t port)) {
  RC_PRE(port != 0);
  Endpoint endpoint{"127." + std::to_string(a) + ".0." + std::to_string(b), port};
  RC_ASSERT(parse_endpoint(endpoint.str()) == endpoint);
}

}  // namespace
}  // namespace isla::core
