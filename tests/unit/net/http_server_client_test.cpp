// The HTTP server and client against each other on loopback.
#include <gtest/gtest.h>

#include <thread>

#include "net/http_client.hpp"
#include "net/http_server.hpp"
#include "support/loopback_server.hpp"
#include "support/raw_http.hpp"

namespace isla::net {
namespace {

using namespace std::chrono_literals;

class ServerFixture : public ::testing::Test {
 public:
  void start(HttpServerOptions options = {}) {
    loopback_ = std::make_unique<testing::LoopbackServer>(
        2,
        [this](HttpRequest& request) -> asio::awaitable<HttpResponse> {
          ++handled_;
          if (request.path() == "/slow") co_await sleep_for(300ms);
          if (request.path() == "/remote") co_return json_response(200, request.remote);
          if (request.path() == "/deadline") {
            const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                request.deadline - std::chrono::steady_clock::now());
            co_return json_response(200, std::to_string(left.count()));
          }
          co_return json_response(200, "{\"path\":\"" + std::string(request.path()) + "\"}");
        },
        options);
    server_ = &loopback_->server();
  }
  core::Endpoint endpoint() const { return loopback_->endpoint(); }
  HttpServer& server() const { return *server_; }

  // Runs `body` as a coroutine on a private context (the client's pool lives there).
  void client(std::function<asio::awaitable<void>()> body) {
    asio::io_context context;
    asio::co_spawn(context, body(), asio::detached);
    context.run();
  }

 protected:
  std::atomic<int> handled_{0};
  std::unique_ptr<testing::LoopbackServer> loopback_;
  HttpServer* server_ = nullptr;
};

HttpRequest get(std::string target) {
  HttpRequest request;
  request.target = std::move(target);
  return request;
}

TEST_F(ServerFixture, KeepAliveReusesOneConnection) {
  start();
  HttpClient http;
  client([&]() -> asio::awaitable<void> {
    for (int i = 0; i < 5; ++i) {
      auto request = get("/x" + std::to_string(i));
      auto result =
          co_await http.request(endpoint(), request, std::chrono::steady_clock::now() + 2s);
      EXPECT_TRUE(result.ok()) << result.message;
      EXPECT_EQ(result.response->body, "{\"path\":\"/x" + std::to_string(i) + "\"}");
    }
    EXPECT_EQ(server_->connections(), 1u);
  });
  EXPECT_EQ(handled_, 5);
}

TEST_F(ServerFixture, PipelinedRequestsAreAnsweredInOrder) {
  start();
  const std::string head = " HTTP/1.1\r\nHost: x\r\n";
  const auto reply =
      testing::raw_exchange(endpoint(), "GET /a" + head + "\r\nGET /b" + head + "\r\nGET /c" +
                                            head + "Connection: close\r\n\r\n");
  const auto a = reply.find("{\"path\":\"/a\"}");
  const auto b = reply.find("{\"path\":\"/b\"}");
  const auto c = reply.find("{\"path\":\"/c\"}");
  ASSERT_NE(a, std::string::npos) << reply;
  ASSERT_NE(b, std::string::npos) << reply;
  ASSERT_NE(c, std::string::npos) << reply;
  EXPECT_LT(a, b);
  EXPECT_LT(b, c);
  EXPECT_EQ(handled_, 3);
}

TEST_F(ServerFixture, AnAnswerIsNotHeldBackByAHalfSentNextRequest) {
  HttpServerOptions options;
  options.header_read_timeout = 5000ms;
  start(options);
  // The next request's head is incomplete: the server must send /a's answer before it
  // waits for the rest, not when the head times out.
  const auto reply = testing::raw_exchange(
      endpoint(), "GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHo", 1500ms);
  EXPECT_NE(reply.find("{\"path\":\"/a\"}"), std::string::npos) << reply;
  EXPECT_EQ(handled_, 1);
}

// Sends every request at once from one context; returns the results in request order and
// how many connections the server had open when the last answer came.
struct Burst {
  std::vector<ClientResult> results;
  std::size_t server_connections = 0;
};

// Sends `count` requests in one turn of a private context's loop: each from a coroutine of
// its own, all spawned before any runs.
Burst burst(ServerFixture& fixture, HttpClientOptions options, int count) {
  HttpClient http(options);
  Burst out;
  out.results.resize(static_cast<std::size_t>(count));
  int done = 0;
  fixture.client([&]() -> asio::awaitable<void> {
    auto executor = co_await asio::this_coro::executor;
    for (int i = 0; i < count; ++i) {
      asio::co_spawn(
          executor,
          [&, i]() -> asio::awaitable<void> {
            const auto request = get("/p" + std::to_string(i));
            out.results[static_cast<std::size_t>(i)] = co_await http.request(
                fixture.endpoint(), request, std::chrono::steady_clock::now() + 5s);
            if (++done == count) out.server_connections = fixture.server().connections();
          },
          asio::detached);
    }
  });
  return out;
}

HttpClientOptions pipelined(std::size_t connections) {
  HttpClientOptions options;
  options.pipeline_depth = 16;
  options.connections_per_endpoint = connections;
  return options;
}

TEST_F(ServerFixture, PipelinedClientSharesItsConnections) {
  start();
  const auto shared = burst(*this, pipelined(2), 30);  // within 2 x depth 16
  for (std::size_t i = 0; i < shared.results.size(); ++i) {
    ASSERT_TRUE(shared.results[i].ok()) << shared.results[i].message;
    EXPECT_EQ(shared.results[i].response->body, "{\"path\":\"/p" + std::to_string(i) + "\"}");
  }
  EXPECT_LE(shared.server_connections, 2u);
  // Without pipelining every concurrent request has a connection of its own.
  EXPECT_TRUE(testing::eventually([&] { return server_->connections() == 0; }, 2000ms));
  const auto separate = burst(*this, HttpClientOptions{}, 30);
  EXPECT_GT(separate.server_connections, 2u);
}

// Requests made in one turn of the loop leave in one send on one connection, however many
// connections the budget allows (the gateway's figure requests to a piece server; were the
// first two to take a connection each, every turn would cost a send and a receive more).
TEST_F(ServerFixture, PipelinedRequestsMadeInOneTurnJoinTheBatchNotYetSent) {
  start();
  const auto joined = burst(*this, pipelined(2), 6);
  for (std::size_t i = 0; i < joined.results.size(); ++i) {
    ASSERT_TRUE(joined.results[i].ok()) << joined.results[i].message;
    EXPECT_EQ(joined.results[i].response->body, "{\"path\":\"/p" + std::to_string(i) + "\"}");
  }
  EXPECT_EQ(joined.server_connections, 1u);
}

TEST_F(ServerFixture, ATimedOutRequestDoesNotFailThoseQueuedBehindIt) {
  start();
  HttpClient http(pipelined(1));
  std::optional<ClientResult> slow;
  std::vector<ClientResult> behind(5);
  client([&]() -> asio::awaitable<void> {
    auto executor = co_await asio::this_coro::executor;
    asio::co_spawn(
        executor,
        [&]() -> asio::awaitable<void> {
          const auto request = get("/slow");
          slow =
              co_await http.request(endpoint(), request, std::chrono::steady_clock::now() + 100ms);
        },
        asio::detached);
    for (std::size_t i = 0; i < behind.size(); ++i) {
      asio::co_spawn(
          executor,
          [&, i]() -> asio::awaitable<void> {
            const auto request = get("/q" + std::to_string(i));
            behind[i] =
                co_await http.request(endpoint(), request, std::chrono::steady_clock::now() + 5s);
          },
          asio::detached);
    }
    co_return;
  });
  ASSERT_TRUE(slow.has_value());
  EXPECT_EQ(slow->error, ClientErrorKind::timeout);
  // They shared the slow request's connection, which went with its timeout; they were sent
  // again on a new one.
  for (std::size_t i = 0; i < behind.size(); ++i) {
    ASSERT_TRUE(behind[i].ok()) << behind[i].message;
    EXPECT_EQ(behind[i].response->body, "{\"path\":\"/q" + std::to_string(i) + "\"}");
  }
}

TEST_F(ServerFixture, AnswersToHeadCarryNoBodySoPipelinedAnswersStayAligned) {
  start();
  HttpClient http(pipelined(1));
  std::optional<ClientResult> head;
  std::optional<ClientResult> after;
  client([&]() -> asio::awaitable<void> {
    auto executor = co_await asio::this_coro::executor;
    asio::co_spawn(
        executor,
        [&]() -> asio::awaitable<void> {
          auto request = get("/h");
          request.method = "HEAD";
          head = co_await http.request(endpoint(), request, std::chrono::steady_clock::now() + 5s);
        },
        asio::detached);
    asio::co_spawn(
        executor,
        [&]() -> asio::awaitable<void> {
          const auto request = get("/g");
          after = co_await http.request(endpoint(), request, std::chrono::steady_clock::now() + 5s);
        },
        asio::detached);
    co_return;
  });
  ASSERT_TRUE(head && head->ok()) << (head ? head->message : "no result");
  EXPECT_EQ(head->response->status, 200);
  EXPECT_EQ(head->response->body, "");
  ASSERT_TRUE(after && after->ok()) << (after ? after->message : "no result");
  EXPECT_EQ(after->response->body, "{\"path\":\"/g\"}");
}

TEST_F(ServerFixture, BodyLimitsFollowTheTargetsPrefix) {
  HttpServerOptions options;
  options.max_body_bytes = 1024;
  options.body_limits_by_prefix = {{"/big", 64 * 1024}};
  start(options);
  auto post = [&](const std::string& target, std::size_t bytes) {
    return testing::status_of(testing::raw_exchange(
        endpoint(), "POST " + target + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n" +
                        "Content-Length: " + std::to_string(bytes) + "\r\n\r\n" +
                        std::string(bytes, 'b')));
  };
  EXPECT_EQ(post("/big/snapshot", 10 * 1024), 200);
  EXPECT_EQ(post("/small", 10 * 1024), 413);
  EXPECT_EQ(post("/big/snapshot", 100 * 1024), 413);
  EXPECT_EQ(post("/small", 512), 200);
}

TEST_F(ServerFixture, ClientTimesOutAtItsDeadline) {
  start();
  const auto started = std::chrono::steady_clock::now();
  auto result = fetch(endpoint(), get("/slow"), 50ms);
  EXPECT_FALSE(result.ok());
  EXPECT_EQ(result.error, ClientErrorKind::timeout);
  EXPECT_LT(std::chrono::steady_clock::now() - started, 250ms);
}

TEST_F(ServerFixture, ConnectionsComeFromTheLocalAddressGiven) {
  start();
  std::vector<std::string> seen;
  // One context, so one connection pool: clients from different addresses must not share.
  client([&]() -> asio::awaitable<void> {
    for (const std::string local : {"127.0.0.7", "", "0.0.0.0", "localhost", "127.0.0.7"}) {
      HttpClientOptions options;
      options.local_address = local;
      const HttpClient http(options);
      const auto request = get("/remote");
      auto result =
          co_await http.request(endpoint(), request, std::chrono::steady_clock::now() + 2s);
      EXPECT_TRUE(result.ok()) << result.message;
      const auto remote = result.ok() ? result.response->body : "";
      seen.push_back(remote.substr(0, remote.rfind(':')));
    }
  });
  // Nothing specific (empty, a wildcard, a name): the system chooses, 127.0.0.1 on loopback.
  EXPECT_EQ(seen, (std::vector<std::string>{"127.0.0.7", "127.0.0.1", "127.0.0.1", "127.0.0.1",
                                            "127.0.0.7"}));
}

// A request from `local_address` on a private client context.
ClientResult get_from(const core::Endpoint& to, const std::string& local_address) {
  HttpClientOptions options;
  options.local_address = local_address;
  const HttpClient http(options);
  ClientResult result;
  asio::io_context context;
  asio::co_spawn(
      context,
      [&]() -> asio::awaitable<void> {
        result = co_await http.request(to, get("/x"), std::chrono::steady_clock::now() + 2s);
      },
      asio::detached);
  context.run();
  return result;
}

TEST_F(ServerFixture, ConnectionsOverTheSourceCapAreRefusedWhileOtherSourcesAreServed) {
  HttpServerOptions options;
  options.max_connections_per_source = 2;
  start(options);
  testing::RawConnection first(endpoint(), "");
  testing::RawConnection second(endpoint(), "");
  ASSERT_TRUE(testing::eventually([&] { return server_->connections() == 2; }, 5000ms));
  testing::RawConnection third(endpoint(), "");
  ASSERT_TRUE(third.connected());  // the kernel accepts; the server then closes it
  EXPECT_TRUE(
      testing::eventually([&] { return server_->refused_connections().source == 1; }, 5000ms));
  EXPECT_EQ(third.read_to_end(5000ms), "");
  EXPECT_EQ(server_->refused_connections().listener, 0u);

  const auto elsewhere = get_from(endpoint(), "127.0.0.2");
  ASSERT_TRUE(elsewhere.ok()) << elsewhere.message;
  EXPECT_EQ(elsewhere.response->status, 200);
  EXPECT_EQ(server_->refused_connections().source, 1u);
}

TEST_F(ServerFixture, ConnectionsOverTheListenerCapAreRefusedUntilOneCloses) {
  HttpServerOptions options;
  options.max_connections = 2;
  start(options);
  auto first = std::make_unique<testing::RawConnection>(endpoint(), "");
  testing::RawConnection second(endpoint(), "", 0, "127.0.0.3");
  ASSERT_TRUE(testing::eventually([&] { return server_->connections() == 2; }, 5000ms));
  const auto refused = get_from(endpoint(), "127.0.0.4");
  EXPECT_FALSE(refused.ok());
  // The client tries a GET twice when its connection ends unanswered.
  EXPECT_GE(server_->refused_connections().listener, 1u);
  EXPECT_EQ(server_->refused_connections().source, 0u);

  first.reset();
  ASSERT_TRUE(testing::eventually([&] { return server_->connections() == 1; }, 5000ms));
  const auto served = get_from(endpoint(), "127.0.0.4");
  EXPECT_TRUE(served.ok()) << served.message;
}

TEST_F(ServerFixture, RefusedConnectionIsAConnectError) {
  start();
  auto result = fetch({"127.0.0.1", 1}, get("/"), 1000ms);
  EXPECT_EQ(result.error, ClientErrorKind::connect);
}

TEST_F(ServerFixture, DeadlineHeaderBoundsTheHandlersBudget) {
  start();
  auto request = get("/deadline");
  request.headers.emplace_back(std::string(kDeadlineHeader), "150");
  auto result = fetch(endpoint(), request, 1000ms);
  ASSERT_TRUE(result.ok());
  EXPECT_LE(std::stoi(result.response->body), 150);
}

TEST_F(ServerFixture, SlowClientIsDisconnectedAfterTheHeaderTimeout) {
  HttpServerOptions options;
  options.header_read_timeout = 200ms;
  start(options);
  const auto started = std::chrono::steady_clock::now();
  const auto reply = testing::raw_exchange(endpoint(), "GET / HTTP/1.1\r\nHost: x\r\n", 3000ms);
  EXPECT_EQ(reply, "");
  EXPECT_LT(std::chrono::steady_clock::now() - started, 2000ms);  // closed, not timed out here
  EXPECT_EQ(handled_, 0);
  EXPECT_TRUE(testing::eventually([&] { return server_->connections() == 0; }, 2000ms));
}

TEST_F(ServerFixture, DrainFinishesInFlightRequestsAndStopsAccepting) {
  start();
  std::optional<ClientResult> slow;
  std::thread in_flight([&] { slow = fetch(endpoint(), get("/slow"), 2000ms); });
  ASSERT_TRUE(testing::eventually([&] { return server_->in_flight() == 1; }, 2000ms));
  std::atomic<bool> clean{false};
  asio::co_spawn(
      loopback_->pool().main(),
      [&]() -> asio::awaitable<void> { clean = co_await server_->drain(); }, asio::detached);
  in_flight.join();
  ASSERT_TRUE(slow && slow->ok()) << (slow ? slow->message : "no result");
  EXPECT_EQ(slow->response->header("Connection").value_or(""), "close");
  ASSERT_TRUE(testing::eventually([&] { return server_->connections() == 0; }, 2000ms));
  EXPECT_TRUE(testing::eventually([&] { return clean.load(); }, 2000ms));
  EXPECT_EQ(fetch(endpoint(), get("/"), 500ms).error, ClientErrorKind::connect);
}

}  // namespace
}  // namespace isla::net
