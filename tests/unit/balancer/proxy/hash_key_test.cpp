#include "balancer/proxy/hash_key.hpp"

#include <gtest/gtest.h>

namespace isla::balancer {
namespace {

TEST(HashKeyTest, ParsesCookieAndHeaderSpecs) {
  auto cookie = parse_hash_key("cookie:session");
  EXPECT_EQ(cookie.source, HashKeySpec::Source::cookie);
  EXPECT_EQ(cookie.name, "session");
  auto header = parse_hash_key("header:X-User");
  EXPECT_EQ(header.source, HashKeySpec::Source::header);
  EXPECT_EQ(header.name, "X-User");
}

TEST(HashKeyTest, RefusesBadSpecs) {
  for (const auto* bad : {"", "cookie:", "session", "query:x", "cookie:a b", "header:x\ny",
                          "cookie:a;b", "Cookie:x"}) {
    EXPECT_THROW(parse_hash_key(bad), std::invalid_argument) << bad;
  }
  EXPECT_THROW(parse_hash_key("cookie:" + std::string(257, 'a')), std::invalid_argument);
}

TEST(HashKeyTest, FindsTheCookieAmongOthers) {
  EXPECT_EQ(cookie_value("a=1; session=abc; b=2", "session"), "abc");
  EXPECT_EQ(cookie_value("session=\"quoted\"", "session"), "quoted");
  EXPECT_EQ(cookie_value("xsession=1;session = 2", "session"), "2");
  EXPECT_FALSE(cookie_value("a=1; b=2", "session"));
  EXPECT_FALSE(cookie_value("session", "session"));
  EXPECT_FALSE(cookie_value("", "session"));
}

TEST(HashKeyTest, ExtractsTheKeyFromARequest) {
  net::HttpRequest request;
  request.headers = {{"cookie", "a=1"}, {"Cookie", "session=s1"}, {"X-User", "alice"}};
  EXPECT_EQ(hash_key(request, parse_hash_key("cookie:session")), "s1");
  EXPECT_EQ(hash_key(request, parse_hash_key("header:x-user")), "alice");
  EXPECT_FALSE(hash_key(request, parse_hash_key("header:X-Missing")));
  request.headers = {{"Cookie", "session="}};
  EXPECT_FALSE(hash_key(request, parse_hash_key("cookie:session")));
}

}  // namespace
}  // namespace isla::balancer
