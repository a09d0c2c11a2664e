// Bad input must get a clear 4xx (or a dropped datagram) and never stop the gateway.
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "membership/datagram.hpp"
#include "security/island_secret.hpp"
#include "support/raw_http.hpp"
#include "support/shared_island.hpp"

namespace isla::testing {
namespace {

using namespace std::chrono_literals;

class BadInput : public SharedIslandTest {
 protected:
  static void SetUpTestSuite() { start_island({"giraffe", "owl"}); }
  void TearDown() override {
    // Whatever the test sent, the gateway still serves.
    auto answer = island_->get("/api/figures/giraffe");
    ASSERT_TRUE(answer.ok()) << answer.message;
    EXPECT_EQ(answer.response->status, 200);
    EXPECT_TRUE(island_->gateway_process().running());
  }

  // Sends raw bytes and checks the status and that the body is a JSON error.
  static void expect_rejected(const std::string& bytes, int status) {
    const auto reply = raw_exchange(island_->gateway(), bytes);
    EXPECT_EQ(status_of(reply), status) << reply.substr(0, 200);
    const auto body_at = reply.find("\r\n\r\n");
    ASSERT_NE(body_at, std::string::npos);
    boost::system::error_code error;
    auto body = boost::json::parse(reply.substr(body_at + 4), error);
    ASSERT_FALSE(error) << reply;
    EXPECT_TRUE(body.at("error").is_string());
  }
};

TEST_F(BadInput, MalformedRequestIs400) {
  expect_rejected("BLAH\x01\x02 / HTTP/9\r\n\r\n", 400);
  expect_rejected("GET /api/figures HTTP/1.1\r\nContent-Length: nope\r\n\r\n", 400);
}

TEST_F(BadInput, OversizedHeaderIs431) {
  expect_rejected("GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(16 * 1024, 'a') + "\r\n\r\n",
                  431);
}

TEST_F(BadInput, OversizedBodyIs413) {
  expect_rejected("POST /api/figures HTTP/1.1\r\nHost: x\r\nContent-Length: 5000000\r\n\r\nabc",
                  413);
}

TEST_F(BadInput, UnknownPathIs404AndUnknownMethodIs405) {
  expect_rejected("GET /etc/passwd HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 404);
  expect_rejected("DELETE /api/figures/giraffe HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
                  405);
  expect_rejected("BREW /api/status HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 405);
}

TEST_F(BadInput, HostileFigureNamesAre400Or431) {
  for (const std::string name : {"../../etc/passwd", "..%2F..%2Fetc", "giraffe%00", "%00",
                                 "gir%affe", "GIRAFFE", "a;b", "-x"}) {
    expect_rejected(
        "GET /api/figures/" + name + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 400);
  }
  // 10 KB names exceed the request head limit.
  expect_rejected("GET /api/figures/" + std::string(10 * 1024, 'a') +
                      " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
                  431);
  // Long but under the head limit: a name, just not a valid one.
  expect_rejected("GET /api/figures/" + std::string(2000, 'a') +
                      " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
                  400);
}

TEST_F(BadInput, GarbageAndForgedDatagramsAreDroppedAndCounted) {
  const auto gateway = island_->gateway();
  // Signed with the island's own secret: what is checked after the signature is at stake.
  const auto secret = security::load_secret_file(island_->secret_file());
  send_datagram(gateway, std::string("\x00\xff garbage", 10));
  send_datagram(gateway, "isla1 -\n{not json");
  // A bye claiming to be the piece server, sent from another port: forged.
  membership::Datagram bye;
  bye.type = membership::DatagramType::bye;
  bye.node = island_->pieces_address(0).str();
  bye.role = "pieces";
  bye.island = "local";
  bye.incarnation = UINT64_MAX;
  bye.ts = membership::wall_clock_ms();
  send_datagram(gateway, *membership::encode(bye, secret), island_->pieces_address(0).host);
  // A hello for a server that does not exist, also forged.
  membership::Datagram hello = bye;
  hello.type = membership::DatagramType::hello;
  hello.node = "127.9.9.9:1233";
  hello.figures = {"unicorn"};
  send_datagram(gateway, *membership::encode(hello, secret));

  ASSERT_TRUE(eventually(
      [&] {
        auto metrics = island_->get("/metrics");
        return metrics.ok() &&
               metrics.response->body.find("reason=\"forged_source\"} 2") != std::string::npos &&
               metrics.response->body.find("reason=\"bad_magic\"}") != std::string::npos &&
               metrics.response->body.find("reason=\"bad_signature\"}") != std::string::npos;
      },
      5s));
  EXPECT_EQ(island_->listed_servers(), std::vector<std::string>{island_->pieces_address(0).str()});
  auto unicorn = island_->get("/api/figures/unicorn");
  ASSERT_TRUE(unicorn.ok());
  EXPECT_EQ(unicorn.response->status, 404);
}

TEST_F(BadInput, SlowlorisDoesNotBlockOthers) {
  // A client that never finishes its request head holds one connection, nothing more.
  std::thread slow(
      [&] { raw_exchange(island_->gateway(), "GET /api/status HTTP/1.1\r\n", 1500ms); });
  auto answer = island_->get("/api/status", 1000ms);
  slow.join();
  ASSERT_TRUE(answer.ok());
  EXPECT_EQ(answer.response->status, 200);
}

}  // namespace
}  // namespace isla::testing
