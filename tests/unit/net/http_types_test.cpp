#include "net/http_types.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>

namespace isla::net {
namespace {

TEST(PercentDecode, DecodesEscapes) {
  EXPECT_EQ(percent_decode("black%2Dsheep").value_or(""), "black-sheep");
  EXPECT_EQ(percent_decode("plain").value_or(""), "plain");
}

TEST(PercentDecode, RejectsBadEscapesAndNul) {
  EXPECT_FALSE(percent_decode("a%0"));
  EXPECT_FALSE(percent_decode("a%"));
  EXPECT_FALSE(percent_decode("a%zz"));
  EXPECT_FALSE(percent_decode("a%00b"));
}

TEST(QueryParam, FindsNamedParameters) {
  EXPECT_EQ(query_param("a=1&prefix=x&b", "prefix").value_or("?"), "x");
  EXPECT_EQ(query_param("a=1&b", "b").value_or("?"), "");
  EXPECT_FALSE(query_param("a=1", "c"));
}

TEST(JsonError, IsAJsonObjectWithTheMessageEscaped) {
  auto response = json_error(404, "unknown figure \"x\"\n");
  EXPECT_EQ(response.status, 404);
  EXPECT_EQ(response.content_type, "application/json");
  auto body = boost::json::parse(response.body);
  EXPECT_EQ(body.at("error").as_string(), "unknown figure \"x\"\n");
}

}  // namespace
}  // namespace isla::net
