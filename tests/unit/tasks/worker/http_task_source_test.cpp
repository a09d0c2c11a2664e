// The Worker API over HTTP against small fake gateways on 127.0.0.1: failing over from a
// gateway that refuses connections or answers 503, signing every call with the island
// secret, holding a long poll past the ordinary call timeout, and stopping one at once.
#include "tasks/worker/http_task_source.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <mutex>
#include <set>

#include "core/clock.hpp"
#include "security/island_secret.hpp"
#include "security/request_auth.hpp"
#include "support/loopback_server.hpp"

namespace isla::tasks {
namespace {

namespace json = boost::json;
using std::chrono::milliseconds;
using std::chrono::seconds;

const std::string kSecret(32, '\x5a');

// A fake gateway: answers each Worker API call from a table, after an optional delay,
// keeping what it was sent.
class FakeGateway {
 public:
  explicit FakeGateway(int status = 200, milliseconds delay = milliseconds(0))
      : server_(1, [this, status, delay](net::HttpRequest& request) {
          return handle(request, status, delay);
        }) {}

  core::Endpoint endpoint() const { return server_.endpoint(); }
  std::vector<net::HttpRequest> received() const {
    std::lock_guard lock(mutex_);
    return received_;
  }

 private:
  asio::awaitable<net::HttpResponse> handle(net::HttpRequest& request, int status,
                                            milliseconds delay) {
    {
      std::lock_guard lock(mutex_);
      received_.push_back(request);
    }
    if (delay.count() > 0) {
      asio::steady_timer timer(co_await asio::this_coro::executor, delay);
      co_await timer.async_wait(asio::use_awaitable);
    }
    if (status != 200) co_return net::json_error(status, "no leader");
    const auto path = request.path();
    std::string body = "{}";
    if (path == "/internal/tasks/lease") {
      body = R"({"tasks":[{"id":"a","type":"sum","params":{"values":[1,2]},"attempt":1,
                 "lease":"la","lease_until_ms":1}]})";
    } else if (path == "/internal/tasks/complete") {
      body = R"({"recorded":["a"],"lost":["b"]})";
    } else if (path == "/internal/tasks/extend") {
      body = R"({"extended":["a"],"lost":[]})";
    } else if (path == "/internal/workers/heartbeat") {
      body = R"({"drain":true})";
    }
    co_return net::json_response(200, body);
  }

  mutable std::mutex mutex_;
  std::vector<net::HttpRequest> received_;
  isla::testing::LoopbackServer server_;
};

// An address nothing listens on: a server's, once it is gone.
core::Endpoint refused_endpoint() {
  FakeGateway gone;
  return gone.endpoint();
}

HttpTaskSourceOptions options_for(std::vector<core::Endpoint> gateways) {
  HttpTaskSourceOptions options;
  options.gateways = std::move(gateways);
  options.worker = "w-1";
  options.client.signer = security::make_node_signer(kSecret, "worker/w-1");
  options.call_timeout = milliseconds(2000);
  options.poll_margin = milliseconds(2000);
  return options;
}

const LeaseRequest kLease{2, milliseconds(100), milliseconds(30'000)};

TEST(HttpTaskSource, FailsOverFromAGatewayThatRefusesAndSticksToTheOneThatAnswers) {
  FakeGateway live;
  HttpTaskSource source(options_for({refused_endpoint(), live.endpoint()}));
  auto tasks = source.lease(kLease);
  ASSERT_TRUE(tasks);
  ASSERT_EQ(tasks->size(), 1u);
  EXPECT_EQ((*tasks)[0].id, "a");
  EXPECT_EQ((*tasks)[0].lease, "la");
  EXPECT_EQ(source.counters().unreachable, 1u);
  EXPECT_EQ(source.counters().failovers, 1u);
  // The next calls go to the gateway that answered; the dead one is not tried again.
  ASSERT_TRUE(source.heartbeat({}));
  ASSERT_TRUE(source.extend({{"a", "la"}}, milliseconds(30'000)));
  EXPECT_EQ(source.counters().unreachable, 1u);
  EXPECT_EQ(live.received().size(), 3u);
}

TEST(HttpTaskSource, CallsInTurnShareOneConnection) {
  FakeGateway gateway;
  HttpTaskSource source(options_for({gateway.endpoint()}));
  for (int i = 0; i < 10; ++i) {
    ASSERT_TRUE(source.heartbeat(WorkerStats{}).has_value());
    ASSERT_TRUE(source.lease(LeaseRequest{1, milliseconds(0), seconds(30)}).has_value());
  }
  std::set<std::string> connections;
  for (const auto& request : gateway.received()) connections.insert(request.remote);
  EXPECT_EQ(gateway.received().size(), 20u);
  // A connection per call would cost every task two handshakes; both kinds of call share one.
  EXPECT_EQ(connections.size(), 1u);
}

TEST(HttpTaskSource, MovesOnFromAGatewayAnswering503) {
  FakeGateway leaderless(503);
  FakeGateway live;
  HttpTaskSource source(options_for({leaderless.endpoint(), live.endpoint()}));
  auto verdicts =
      source.complete({{{"a", "la"}, TaskOutcome::success(json::object{})},
                       {{"b", "lb"}, TaskOutcome::failure_of(FailureKind::failed, "boom")}});
  ASSERT_TRUE(verdicts);
  EXPECT_EQ(verdicts->accepted, (std::vector<std::string>{"a"}));
  EXPECT_EQ(verdicts->lost, (std::vector<std::string>{"b"}));
  EXPECT_EQ(leaderless.received().size(), 1u);
  EXPECT_EQ(source.counters().refused, 1u);
  const auto sent = json::parse(live.received().at(0).body);
  EXPECT_EQ(sent.at("results").at(1).at("kind"), "failed");
}

TEST(HttpTaskSource, NoAnswerFromAnyGatewayIsNoResult) {
  FakeGateway leaderless(503);
  HttpTaskSource source(options_for({refused_endpoint(), leaderless.endpoint()}));
  EXPECT_FALSE(source.heartbeat({}));
  EXPECT_FALSE(source.bye());
}

TEST(HttpTaskSource, SignsEveryCallAsTheWorkerWithTheIslandSecret) {
  FakeGateway live;
  HttpTaskSource source(options_for({live.endpoint()}));
  ASSERT_TRUE(source.heartbeat({}));
  ASSERT_TRUE(source.bye());
  security::RequestVerifier verifier(security::derive_key(kSecret, "request"),
                                     live.endpoint().str());
  for (auto request : live.received()) {
    const auto header = request.header(security::kAuthHeader);
    ASSERT_TRUE(header) << request.target;
    const auto fields = security::parse_auth_header(*header);
    ASSERT_TRUE(fields);
    EXPECT_EQ(fields->node, "worker/w-1");
    const auto verdict = verifier.verify_head(request, core::wall_clock_ms());
    EXPECT_TRUE(verdict.ok) << verdict.reason;
    EXPECT_TRUE(security::RequestVerifier::body_matches(request));
  }
  const auto bye = json::parse(live.received().at(1).body);
  EXPECT_EQ(bye, json::parse(R"({"worker":"w-1"})"));
}

TEST(HttpTaskSource, ALongPollMayOutlastTheOrdinaryCallTimeout) {
  FakeGateway slow(200, milliseconds(600));
  auto options = options_for({slow.endpoint()});
  options.call_timeout = milliseconds(200);
  HttpTaskSource source(options);
  EXPECT_FALSE(source.heartbeat({})) << "an ordinary call is held to call_timeout";
  auto tasks = source.lease({1, milliseconds(600), milliseconds(30'000)});
  ASSERT_TRUE(tasks) << "the long poll's deadline is its wait plus the margin";
  EXPECT_EQ(tasks->size(), 1u);
}

TEST(HttpTaskSource, InterruptEndsALongPollAtOnceAndLaterOnesBeforeTheyStart) {
  FakeGateway holding(200, milliseconds(20'000));
  auto options = options_for({holding.endpoint()});
  HttpTaskSource source(options);
  auto polled = std::async(std::launch::async, [&] {
    return source.lease({1, seconds(20), seconds(30)});
  });
  const auto deadline = std::chrono::steady_clock::now() + seconds(10);
  while (holding.received().empty() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(milliseconds(1));
  }
  ASSERT_EQ(holding.received().size(), 1u);
  source.interrupt_leasing();
  ASSERT_EQ(polled.wait_for(seconds(5)), std::future_status::ready);
  EXPECT_FALSE(polled.get());
  EXPECT_FALSE(source.lease({1, seconds(20), seconds(30)}));
  EXPECT_EQ(holding.received().size(), 1u);
}

}  // namespace
}  // namespace isla::tasks
