#include "net/http_parse.hpp"

#include "net/body_collector.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>

namespace isla::net {
namespace {

int status_of(const std::string& bytes, HttpServerOptions limits = {}) {
  auto parsed = parse_request(bytes, limits);
  if (std::holds_alternative<HttpRequest>(parsed)) return 0;
  const auto& response = std::get<HttpResponse>(parsed);
  auto body = boost::json::parse(response.body);
  EXPECT_TRUE(body.as_object().at("error").is_string());
  return response.status;
}

TEST(ParseRequest, AcceptsAWellFormedRequest) {
  auto parsed =
      parse_request("GET /api/figures/giraffe?x=1 HTTP/1.1\r\nHost: a\r\nX-A: b\r\n\r\n", {});
  ASSERT_TRUE(std::holds_alternative<HttpRequest>(parsed));
  const auto& request = std::get<HttpRequest>(parsed);
  EXPECT_EQ(request.method, "GET");
  EXPECT_EQ(request.path(), "/api/figures/giraffe");
  EXPECT_EQ(request.query(), "x=1");
  EXPECT_EQ(request.header("x-a").value_or(""), "b");
}

TEST(ParseRequest, ReadsTheBody) {
  auto parsed = parse_request("POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello", {});
  ASSERT_TRUE(std::holds_alternative<HttpRequest>(parsed));
  EXPECT_EQ(std::get<HttpRequest>(parsed).body, "hello");
}

TEST(ParseRequest, GarbageIs400) {
  EXPECT_EQ(status_of("\x16\x03\x01 hello\r\n\r\n"), 400);
}

TEST(ParseRequest, TruncatedRequestIs400) {
  EXPECT_EQ(status_of("GET /api/fig"), 400);
}

TEST(ParseRequest, OversizedHeadIs431) {
  HttpServerOptions limits;
  limits.max_header_bytes = 1024;
  EXPECT_EQ(status_of("GET /" + std::string(2000, 'a') + " HTTP/1.1\r\nHost: a\r\n\r\n", limits),
            431);
  EXPECT_EQ(status_of("GET / HTTP/1.1\r\nX: " + std::string(2000, 'b') + "\r\n\r\n", limits), 431);
}

TEST(ParseRequest, OversizedBodyIs413) {
  HttpServerOptions limits;
  limits.max_body_bytes = 10;
  EXPECT_EQ(
      status_of("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 11\r\n\r\n01234567890", limits),
      413);
}

TEST(ParseRequest, JoinsAChunkedBody) {
  auto parsed = parse_request(
      "POST /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
      "5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\n\r\n",
      {});
  ASSERT_TRUE(std::holds_alternative<HttpRequest>(parsed));
  EXPECT_EQ(std::get<HttpRequest>(parsed).body, "hello world");
}

TEST(ParseRequest, AChunkedBodyPastTheLimitIs413) {
  HttpServerOptions limits;
  limits.max_body_bytes = 8;
  EXPECT_EQ(status_of("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
                      "5\r\nhello\r\n5\r\nworld\r\n0\r\n\r\n",
                      limits),
            413);
}

// Every field reaches the request, in the order sent, repeated ones included: a proxy
// forwards them as they came, and the signature check reads the one the client meant.
TEST(ParseRequest, KeepsEveryFieldInOrderRepeatsIncluded) {
  auto parsed = parse_request(
      "GET / HTTP/1.1\r\nHost: a\r\nX-Tag: one\r\nAccept: */*\r\nX-Tag: two\r\n\r\n", {});
  ASSERT_TRUE(std::holds_alternative<HttpRequest>(parsed));
  const Headers expected{{"Host", "a"}, {"X-Tag", "one"}, {"Accept", "*/*"}, {"X-Tag", "two"}};
  EXPECT_EQ(std::get<HttpRequest>(parsed).headers, expected);
}

// A stranger that announces a huge body and sends none of it must not make the server
// allocate what it announced.
TEST(BodyCollector, ReservesAtMostItsBoundForADeclaredLength) {
  std::string body;
  BodyCollector::start(body, 64ull << 30);
  EXPECT_LE(body.capacity(), 2 * BodyCollector::kReservedBodyBytes);
  std::string small;
  BodyCollector::start(small, 100);
  EXPECT_GE(small.capacity(), 100u);
}

}  // namespace
}  // namespace isla::net
