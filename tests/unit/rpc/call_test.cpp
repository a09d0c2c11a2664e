// Typed calls: a method's `idempotent` flag, not its HTTP verb, decides whether a call is
// sent again after its connection died, or tried on another replica.
#include "rpc/call.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read_until.hpp>
#include <thread>

namespace isla::rpc {
namespace {

using namespace std::chrono_literals;
using tcp = asio::ip::tcp;

// Reads each request's head and hangs up without a word, as a server that crashed while
// handling it would: the caller cannot know whether it acted. Counts the requests it read.
class HangUpServer {
 public:
  HangUpServer() : acceptor_(context_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)) {
    accept();
    thread_ = std::thread([this] { context_.run(); });
  }
  ~HangUpServer() {
    context_.stop();
    thread_.join();
  }
  HangUpServer(const HangUpServer&) = delete;
  HangUpServer& operator=(const HangUpServer&) = delete;

  core::Endpoint endpoint() const { return {"127.0.0.1", acceptor_.local_endpoint().port()}; }
  // Final once the caller has its failure: a request is counted before its connection closes.
  int requests_read() const { return read_; }

 private:
  void accept() {
    acceptor_.async_accept([this](const boost::system::error_code& error, tcp::socket socket) {
      if (error) return;
      auto peer = std::make_shared<tcp::socket>(std::move(socket));
      auto head = std::make_shared<std::string>();
      asio::async_read_until(
          *peer, asio::dynamic_buffer(*head), "\r\n\r\n",
          [this, peer, head](const boost::system::error_code& read, std::size_t) {
            if (!read) ++read_;
            peer->close();
          });
      accept();
    });
  }

  asio::io_context context_;
  tcp::acceptor acceptor_;
  std::atomic<int> read_{0};
  std::thread thread_;
};

std::string ping_path(const Empty&) {
  return "/ping";
}

constexpr Method<Empty, Empty> kIdempotentPost{.name = "test.idempotent_post",
                                               .verb = "POST",
                                               .path = ping_path,
                                               .idempotent = true,
                                               .has_body = true};
constexpr Method<Empty, Empty> kOneShotPost{.name = "test.one_shot_post",
                                            .verb = "POST",
                                            .path = ping_path,
                                            .idempotent = false,
                                            .has_body = true};
constexpr Method<Empty, Empty> kOneShotGet{
    .name = "test.one_shot_get", .verb = "GET", .path = ping_path, .idempotent = false};

// Calls `method` once against a server that hangs up; returns how many times it arrived.
int deliveries(const Method<Empty, Empty>& method) {
  HangUpServer server;
  net::HttpClient client;
  asio::io_context context;
  Result<Empty> result;
  // Named, not temporaries in the co_await expression: GCC 12 destroys those twice.
  const auto to = server.endpoint();
  const CallOptions options{std::chrono::steady_clock::now() + 5s, {}, 0};
  const Empty request;
  asio::co_spawn(
      context,
      [&]() -> asio::awaitable<void> {
        result = co_await call(client, to, method, request, options);
      },
      asio::detached);
  context.run();
  EXPECT_FALSE(result.ok());
  EXPECT_EQ(result.error.code, ErrorCode::broken) << result.error.message;
  return server.requests_read();
}

TEST(RpcCall, AnIdempotentPostIsSentAgainWhenItsConnectionDiesUnanswered) {
  EXPECT_EQ(deliveries(kIdempotentPost), 2);
}

TEST(RpcCall, ANonIdempotentMethodIsSentOnceWhateverItsVerb) {
  EXPECT_EQ(deliveries(kOneShotPost), 1);
  EXPECT_EQ(deliveries(kOneShotGet), 1);
}

TEST(RpcCall, OnlyAnIdempotentMethodIsTriedOnAnotherReplicaOnceItMayHaveArrived) {
  for (const auto code : {ErrorCode::timeout, ErrorCode::broken, ErrorCode::remote}) {
    const Error error{code, code == ErrorCode::remote ? 500 : 0, "failed"};
    EXPECT_TRUE(may_try_another_replica(kIdempotentPost, error));
    EXPECT_FALSE(may_try_another_replica(kOneShotPost, error));
    EXPECT_FALSE(may_try_another_replica(kOneShotGet, error));
  }
  // Without a connection it never reached the replica: any method may go elsewhere.
  const Error refused{ErrorCode::unavailable, 0, "connection refused"};
  EXPECT_TRUE(may_try_another_replica(kOneShotPost, refused));
  EXPECT_TRUE(may_try_another_replica(kIdempotentPost, refused));
}

}  // namespace
}  // namespace isla::rpc
