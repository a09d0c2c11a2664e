#include "balancer/proxy/forwarding.hpp"

#include <gtest/gtest.h>

namespace isla::balancer {
namespace {

std::vector<std::string> values_of(const net::Headers& headers, std::string_view name) {
  std::vector<std::string> out;
  for (const auto& [key, value] : headers) {
    if (net::same_header_name(key, name)) out.push_back(value);
  }
  return out;
}

TEST(ForwardingTest, ClientIpDropsThePort) {
  EXPECT_EQ(client_ip("127.0.0.1:5235"), "127.0.0.1");
  EXPECT_EQ(client_ip("[::1]:80"), "::1");
  EXPECT_EQ(client_ip("10.1.2.3"), "10.1.2.3");
  EXPECT_EQ(client_ip("fe80::1"), "fe80::1");
}

TEST(ForwardingTest, HopByHopHeadersStayBehindAndForwardedOnesAreAdded) {
  net::HttpRequest client;
  client.method = "POST";
  client.target = "/api/orders?x=1";
  client.body = "{}";
  client.remote = "10.0.0.7:40000";
  client.headers = {{"Host", "shop.example"},       {"Connection", "keep-alive, X-Secret"},
                    {"Keep-Alive", "timeout=5"},    {"Transfer-Encoding", "chunked"},
                    {"Content-Length", "2"},        {"Authorization", "Bearer t"},
                    {"proxy-authorization", "x"},   {"Content-Type", "application/json"},
                    {"X-Forwarded-Proto", "https"}, {"isla-forwarded-auth", "v1 forged"}};
  auto out = upstream_request(client, {"10.0.0.7", "http"}, "Isla-Forwarded-Auth");
  EXPECT_EQ(out.method, "POST");
  EXPECT_EQ(out.target, "/api/orders?x=1");
  EXPECT_EQ(out.body, "{}");
  for (const auto* gone : {"Connection", "Keep-Alive", "Transfer-Encoding", "Content-Length",
                           "Host", "Proxy-Authorization", "Isla-Forwarded-Auth"}) {
    EXPECT_TRUE(values_of(out.headers, gone).empty()) << gone;
  }
  EXPECT_EQ(values_of(out.headers, "Authorization"), std::vector<std::string>{"Bearer t"});
  EXPECT_EQ(values_of(out.headers, "X-Forwarded-For"), std::vector<std::string>{"10.0.0.7"});
  // The client's own claim of a protocol is replaced by what it spoke to the balancer.
  EXPECT_EQ(values_of(out.headers, "X-Forwarded-Proto"), std::vector<std::string>{"http"});
  EXPECT_EQ(values_of(out.headers, "X-Forwarded-Host"), std::vector<std::string>{"shop.example"});
}

TEST(ForwardingTest, ForwardedForAppendsToEarlierProxiesInOneHeader) {
  net::HttpRequest client;
  client.headers = {{"X-Forwarded-For", "1.2.3.4"}, {"x-forwarded-for", "5.6.7.8, 9.9.9.9"}};
  auto out = upstream_request(client, {"10.0.0.7", "https"});
  EXPECT_EQ(values_of(out.headers, "X-Forwarded-For"),
            std::vector<std::string>{"1.2.3.4, 5.6.7.8, 9.9.9.9, 10.0.0.7"});
}

TEST(ForwardingTest, CleanResponseDropsFramingOfTheBackendConnection) {
  net::HttpResponse response;
  response.headers = {{"Connection", "close"},
                      {"Content-Length", "5"},
                      {"Set-Cookie", "s=1"},
                      {"Transfer-Encoding", "chunked"}};
  clean_response(response);
  ASSERT_EQ(response.headers.size(), 1u);
  EXPECT_EQ(response.headers[0].first, "Set-Cookie");
}

TEST(ForwardingTest, CleanResponseKeepsTheLengthAHeadAnswerAnnounces) {
  net::HttpResponse response;
  response.headers = {{"Connection", "keep-alive"}, {"content-length", "1234"}};
  clean_response(response, true);
  ASSERT_EQ(response.headers.size(), 1u);
  EXPECT_EQ(response.headers[0].second, "1234");
}

TEST(ForwardingTest, TheMovingUpstreamRequestIsTheCopyingOne) {
  net::HttpRequest client;
  client.method = "POST";
  client.target = "/api/orders?x=1";
  client.body = std::string(1000, 'b');
  client.headers = {{"Connection", "close"}, {"Cookie", "s=1"}, {"X-Forwarded-For", "1.2.3.4"}};
  const auto copied = upstream_request(client, {"10.0.0.7", "http"});
  const auto moved = upstream_request(std::move(client), {"10.0.0.7", "http"});
  EXPECT_EQ(moved.method, copied.method);
  EXPECT_EQ(moved.target, copied.target);
  EXPECT_EQ(moved.body, copied.body);
  EXPECT_EQ(moved.headers, copied.headers);
  EXPECT_EQ(values_of(moved.headers, "X-Forwarded-For"),
            std::vector<std::string>{"1.2.3.4, 10.0.0.7"});
}

}  // namespace
}  // namespace isla::balancer
