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

namespace isla::net {
namespace {

TEST(ValidUtf8, KeepsValidTextAndReplacesInvalidBytes) {
  EXPECT_EQ(valid_utf8("giraffe \xc3\xa9"), "giraffe \xc3\xa9");
  EXPECT_EQ(valid_utf8("/\xff"), "/\xef\xbf\xbd");
  EXPECT_EQ(valid_utf8("\xc0\xaf"), "\xef\xbf\xbd\xef\xbf\xbd");                  // overlong '/'
  EXPECT_EQ(valid_utf8("\xed\xa0\x80"), "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");  // surrogate
  EXPECT_EQ(valid_utf8("\xe2\x82"), "\xef\xbf\xbd\xef\xbf\xbd");                  // truncated
}

TEST(JsonError, StaysValidJsonWhateverTheMessageQuotes) {
  auto response = json_error(404, "no such endpoint: /\x9f\x8c\x8c\x88");
  boost::system::error_code error;
  auto body = boost::json::parse(response.body, error);
  ASSERT_FALSE(error) << response.body;
  EXPECT_TRUE(body.at("error").is_string());
}

}  // namespace
}  // namespace isla::net
