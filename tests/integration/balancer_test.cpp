// `isla balancer`'s proxy in process, before backends that count what they see: spreading
// by each algorithm, retries past a dead backend, health checks (fall, rise), affinity,
// run-time membership through the admin API, bad input stopped at the balancer, the service
// address bound and unbound at run time, and X-Forwarded-For as real gateways believe it.
#include <gtest/gtest.h>

#include <atomic>
#include <boost/json.hpp>
#include <csignal>
#include <filesystem>
#include <future>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include <unistd.h>

#include "app/commands.hpp"
#include "balancer/proxy/balancer.hpp"
#include "net/http_client.hpp"
#include "net/http_server.hpp"
#include "net/http_stream.hpp"
#include "net/io_pool.hpp"
#include "net/tls.hpp"
#include "security/island_secret.hpp"
#include "support/island.hpp"
#include "support/raw_http.hpp"
#include "support/run_command.hpp"
#include "support/scope_exit.hpp"

namespace isla::balancer {
namespace {

using namespace std::chrono_literals;
using testing::eventually;

constexpr auto kPatience = 10s;

// A backend that says who it is and counts what reaches it, apart from its health checks.
class Backend {
 public:
  Backend(std::string name, core::Endpoint listen) : name_(std::move(name)), listen_(listen) {
    start();
  }
  ~Backend() { stop(); }

  void start() {
    pool_ = std::make_unique<net::IoPool>(1);
    server_ = std::make_unique<net::HttpServer>(
        *pool_, listen_, net::HttpServerOptions{},
        [this](net::HttpRequest& request) { return handle(request); });
    server_->start();
    listen_.port = server_->port();
    thread_ = std::thread([this] { pool_->run(); });
  }
  // Gone as a killed process is: the port refuses, open connections are closed.
  void stop() {
    if (!pool_) return;
    pool_->stop();
    thread_.join();
    server_.reset();
    pool_.reset();
  }

  core::Endpoint endpoint() const { return listen_; }
  int requests() const { return requests_.load(); }
  int checks() const { return checks_.load(); }
  int in_flight() const { return in_flight_.load(); }
  void set_healthy(bool healthy) { healthy_ = healthy; }
  void set_status(int status) { status_ = status; }
  std::string last_forwarded_for() const {
    std::lock_guard lock(mutex_);
    return forwarded_for_;
  }
  std::string last_forwarded_auth() const {
    std::lock_guard lock(mutex_);
    return forwarded_auth_;
  }
  std::vector<std::string> targets() const {
    std::lock_guard lock(mutex_);
    return targets_;
  }

 private:
  asio::awaitable<net::HttpResponse> handle(net::HttpRequest& request) {
    if (request.path() == "/healthz") {
      ++checks_;
      if (!healthy_) co_return net::json_error(503, "sick");
      co_return net::json_response(200, R"({"status":"serving"})");
    }
    ++requests_;
    {
      std::lock_guard lock(mutex_);
      forwarded_for_ = std::string(request.header("X-Forwarded-For").value_or(""));
      forwarded_auth_ = std::string(request.header("Isla-Forwarded-Auth").value_or(""));
      targets_.push_back(request.method + " " + request.target);
    }
    if (request.path() == "/api/events") {
      co_return events(request.target.find("die=mid-stream") != std::string::npos);
    }
    if (request.path() == "/slow") {
      ++in_flight_;
      asio::steady_timer timer(co_await asio::this_coro::executor, 800ms);
      co_await timer.async_wait(net::use_nothrow);
      --in_flight_;
    }
    net::HttpResponse response;
    response.status = status_.load();
    response.content_type = "text/plain";
    response.headers.emplace_back("X-Backend", name_);
    response.body = name_ + ":" + std::to_string(request.body.size());
    co_return response;
  }

  // Server-sent events as the gateway sends them: an event at once, then one more only once
  // the test says the first one reached the client (at most 5 s), then the end. Asked to die
  // mid-stream, the backend breaks off where the second event would be, as a killed process's
  // connection does (no last chunk).
  net::HttpResponse events(bool die_mid_stream) {
    net::HttpResponse response;
    response.content_type = "text/event-stream";
    stream_open_ = true;
    response.stream =
        [this, die_mid_stream, sent = 0](
            net::StreamBacklog& backlog) mutable -> asio::awaitable<std::optional<std::string>> {
      if (sent == 0) {
        ++sent;
        co_return std::optional<std::string>("id: 1\ndata: first\n\n");
      }
      if (sent == 1) {
        ++sent;
        asio::steady_timer timer(co_await asio::this_coro::executor);
        const auto give_up = std::chrono::steady_clock::now() + 5s;
        while (!first_seen_ && std::chrono::steady_clock::now() < give_up) {
          timer.expires_after(10ms);
          co_await timer.async_wait(net::use_nothrow);
        }
        if (die_mid_stream) {
          stream_open_ = false;
          backlog.abort();
          co_return std::nullopt;
        }
        co_return std::optional<std::string>("id: 2\ndata: second\n\n");
      }
      stream_open_ = false;
      co_return std::nullopt;
    };
    return response;
  }

 public:
  std::atomic<bool> stream_open_{false};
  std::atomic<bool> first_seen_{false};

 private:
  std::string name_;
  core::Endpoint listen_;
  std::unique_ptr<net::IoPool> pool_;
  std::unique_ptr<net::HttpServer> server_;
  std::thread thread_;
  std::atomic<int> requests_{0};
  std::atomic<int> checks_{0};
  std::atomic<int> in_flight_{0};
  std::atomic<bool> healthy_{true};
  std::atomic<int> status_{200};
  mutable std::mutex mutex_;
  std::string forwarded_for_;
  std::string forwarded_auth_;
  std::vector<std::string> targets_;
};

// A Balancer in this process, its pool on a thread of its own.
class RunningBalancer {
 public:
  explicit RunningBalancer(BalancerOptions options) : balancer_(std::move(options)) {
    balancer_.start();
    thread_ = std::thread([this] { balancer_.pool().run(); });
  }
  ~RunningBalancer() {
    balancer_.pool().stop();
    thread_.join();
  }
  Balancer& operator*() { return balancer_; }
  Balancer* operator->() { return &balancer_; }

 private:
  Balancer balancer_;
  std::thread thread_;
};

net::ClientResult send(const core::Endpoint& to, net::HttpRequest request,
                       net::HttpClientOptions options = {}) {
  return net::fetch(to, request, 5s, options);
}

net::ClientResult get(const core::Endpoint& to, const std::string& target,
                      net::Headers headers = {}) {
  net::HttpRequest request;
  request.target = target;
  request.headers = std::move(headers);
  return send(to, std::move(request));
}

std::string backend_of(const net::ClientResult& result) {
  if (!result.ok()) return "error:" + result.message;
  return std::string(result.response->header("X-Backend").value_or("none"));
}

class BalancerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    subnet_ = testing::unique_subnet();
    for (int i = 0; i < 3; ++i) {
      backends_.push_back(std::make_unique<Backend>(
          "b" + std::to_string(i), core::Endpoint{subnet_ + "." + std::to_string(11 + i), 0}));
    }
  }

  BalancerOptions options(Algorithm algorithm = Algorithm::round_robin) {
    BalancerOptions out;
    out.listen = {subnet_ + ".1", 0};
    out.admin = core::Endpoint{subnet_ + ".1", 0};
    out.algorithm = algorithm;
    for (const auto& backend : backends_) out.backends.push_back({backend->endpoint(), 1});
    out.health.interval = 100ms;
    out.health.fall = 3;
    out.health.rise = 2;
    out.check_timeout = 500ms;
    out.threads = 2;
    out.seed = 7;
    return out;
  }

  core::Endpoint service(RunningBalancer& balancer) {
    return {subnet_ + ".1", balancer->service_port()};
  }
  struct SeenStream {
    net::StreamResult result;
    std::vector<std::string> events;  // "id:data"
    bool open_at_first = false;       // a backend's stream was still open at the first event
  };
  // Subscribes through the balancer; at the first event, tells the backends it arrived.
  SeenStream read_events(RunningBalancer& balancer, const std::string& target) {
    SeenStream seen;
    net::HttpRequest request;
    request.target = target;
    net::SseParser parser;
    seen.result = net::fetch_stream(service(balancer), request, {}, [&](std::string_view bytes) {
      return parser.feed(bytes, [&](const net::SseEvent& event) {
        if (seen.events.empty()) {
          for (const auto& backend : backends_) seen.open_at_first |= backend->stream_open_.load();
          for (const auto& backend : backends_) backend->first_seen_ = true;
        }
        seen.events.push_back(event.id + ":" + event.data);
        return true;
      });
    });
    return seen;
  }

  core::Endpoint admin(RunningBalancer& balancer) {
    return {subnet_ + ".1", balancer->admin_port()};
  }

  static boost::json::object backend_status(RunningBalancer& balancer,
                                            const core::Endpoint& which) {
    for (const auto& backend : balancer->backends_json()) {
      if (backend.as_object().at("address").as_string() == which.str()) return backend.as_object();
    }
    return {};
  }

  std::string subnet_;
  std::vector<std::unique_ptr<Backend>> backends_;
};

TEST_F(BalancerTest, RoundRobinTakesTurnsOverThreeBackends) {
  RunningBalancer balancer(options());
  std::map<std::string, int> seen;
  for (int i = 0; i < 30; ++i) {
    auto result = get(service(balancer), "/api/figures");
    ASSERT_TRUE(result.ok()) << result.message;
    EXPECT_EQ(result.response->status, 200);
    ++seen[backend_of(result)];
  }
  EXPECT_EQ(seen, (std::map<std::string, int>{{"b0", 10}, {"b1", 10}, {"b2", 10}}));
  for (const auto& backend : backends_) EXPECT_EQ(backend->requests(), 10);
}

TEST_F(BalancerTest, AHeadAnswerCarriesTheBackendsContentLengthAndKeepsFraming) {
  RunningBalancer balancer(options());
  // A HEAD then a GET on one connection: the HEAD's answer announces the length of the
  // backend's body ("bN:0", 4 bytes) but carries none, so the GET's answer is read right.
  const auto reply =
      testing::raw_exchange(service(balancer),
                            "HEAD /api/figures HTTP/1.1\r\nHost: x\r\n\r\n"
                            "GET /api/figures HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
                            std::chrono::milliseconds(10000));
  const auto second = reply.find("HTTP/1.1", 1);
  ASSERT_NE(second, std::string::npos) << reply;
  const auto head_answer = reply.substr(0, second);
  EXPECT_EQ(testing::status_of(head_answer), 200) << reply;
  EXPECT_NE(head_answer.find("Content-Length: 4\r\n"), std::string::npos) << reply;
  EXPECT_TRUE(head_answer.ends_with("\r\n\r\n")) << reply;  // no body
  const auto get_answer = reply.substr(second);
  EXPECT_EQ(testing::status_of(get_answer), 200) << reply;
  EXPECT_NE(get_answer.find("Content-Length: 4\r\n"), std::string::npos) << reply;
  EXPECT_TRUE(get_answer.ends_with(":0")) << reply;
}

TEST_F(BalancerTest, NameBackendSaysWhichBackendAnsweredAndIsOffByDefault) {
  {
    RunningBalancer quiet(options());
    auto result = get(service(quiet), "/api/figures");
    ASSERT_TRUE(result.ok()) << result.message;
    EXPECT_FALSE(result.response->header(kBackendHeader).has_value());
  }
  auto named = options();
  named.name_backend = true;
  RunningBalancer balancer(named);
  for (int i = 0; i < 6; ++i) {
    auto result = get(service(balancer), "/api/figures");
    ASSERT_TRUE(result.ok()) << result.message;
    const auto header = result.response->header(kBackendHeader);
    ASSERT_TRUE(header.has_value());
    const auto which = backend_of(result);  // "bN", the backend's own name
    EXPECT_EQ(*header, backends_.at(std::stoi(which.substr(1)))->endpoint().str());
  }
}

class AlgorithmTest : public BalancerTest, public ::testing::WithParamInterface<Algorithm> {};

TEST_P(AlgorithmTest, EveryBackendTakesAShareOfConcurrentRequests) {
  RunningBalancer balancer(options(GetParam()));
  std::vector<std::future<net::ClientResult>> results;
  for (int i = 0; i < 60; ++i) {
    // `i` by value: the loop moves on (and ends) while the requests run.
    results.push_back(std::async(std::launch::async, [&, i] {
      return get(service(balancer), "/figures", {{"X-User", "u" + std::to_string(i)}});
    }));
  }
  int answered = 0;
  for (auto& result : results) answered += result.get().ok() ? 1 : 0;
  EXPECT_EQ(answered, 60);
  for (const auto& backend : backends_) EXPECT_GE(backend->requests(), 5);
  EXPECT_EQ(backends_[0]->requests() + backends_[1]->requests() + backends_[2]->requests(), 60);
}

INSTANTIATE_TEST_SUITE_P(Algorithms, AlgorithmTest,
                         ::testing::Values(Algorithm::round_robin, Algorithm::least_connections,
                                           Algorithm::power_of_two, Algorithm::consistent_hash),
                         [](const auto& info) { return std::string(to_string(info.param)); });

TEST_F(BalancerTest, AKilledBackendCostsIdempotentRequestsNothingAndIsMarkedDownThenUp) {
  auto opts = options();
  // Checked every second, every 100 ms while a streak is under way: the requests below reach
  // the dead backend before the checks notice, and are retried.
  opts.health.interval = 1s;
  opts.health.fast_interval = 100ms;
  opts.health.initial = InitialState::fully_up;
  opts.outlier.base_ejection_time = 500ms;
  RunningBalancer balancer(opts);
  const auto dead = backends_[1]->endpoint();
  ASSERT_TRUE(eventually([&] { return backends_[1]->checks() >= 1; }, kPatience));
  backends_[1]->stop();
  for (int i = 0; i < 30; ++i) {
    for (const auto* method : {"GET", "PUT", "DELETE"}) {
      net::HttpRequest request;
      request.method = method;
      request.target = "/api/thing";
      auto result = send(service(balancer), request);
      ASSERT_TRUE(result.ok()) << method << " " << result.message;
      EXPECT_EQ(result.response->status, 200) << method << " " << result.response->body;
    }
  }
  EXPECT_GT(balancer->status().at("retries").as_uint64(), 0u);
  // fall 3: down after a second and two fast checks, well inside the patience.
  EXPECT_TRUE(
      eventually([&] { return !backend_status(balancer, dead).at("up").as_bool(); }, kPatience));

  // Back on the same address: up again after `rise` passed checks, and taking requests.
  backends_[1] = std::make_unique<Backend>("b1", dead);
  // The failed requests also had it ejected (3 gateway failures in a row), for 500 ms.
  EXPECT_GE(backend_status(balancer, dead).at("ejections").as_uint64(), 1u);
  EXPECT_TRUE(eventually([&] { return backend_status(balancer, dead).at("pickable").as_bool(); },
                         kPatience));
  for (int i = 0; i < 9; ++i) ASSERT_TRUE(get(service(balancer), "/again").ok());
  EXPECT_GE(backends_[1]->requests(), 3);
  const auto metrics = balancer->metrics_text();
  EXPECT_NE(metrics.find("isla_balancer_health_transitions_total{backend=\"" + dead.str() +
                         "\",to=\"down\"} 1"),
            std::string::npos)
      << metrics;
  EXPECT_NE(metrics.find("isla_balancer_health_transitions_total{backend=\"" + dead.str() +
                         "\",to=\"up\"} 1"),
            std::string::npos);
}

TEST_F(BalancerTest, AFailingHealthCheckTakesABackendDownAfterFallChecksInARow) {
  auto opts = options();
  opts.health.interval = 200ms;
  RunningBalancer balancer(opts);
  auto& sick = *backends_[2];
  ASSERT_TRUE(eventually([&] { return sick.checks() >= 1; }, kPatience));
  const int before = sick.checks();
  sick.set_healthy(false);
  ASSERT_TRUE(eventually(
      [&] { return !backend_status(balancer, sick.endpoint()).at("up").as_bool(); }, kPatience));
  // Exactly `fall` failed checks (one more may be on its way when we look).
  const int failed = sick.checks() - before;
  EXPECT_GE(failed, 3);
  EXPECT_LE(failed, 4);
  // Down: no traffic.
  const int requests = sick.requests();
  for (int i = 0; i < 12; ++i) ASSERT_TRUE(get(service(balancer), "/x").ok());
  EXPECT_EQ(sick.requests(), requests);
  sick.set_healthy(true);
  EXPECT_TRUE(eventually(
      [&] { return backend_status(balancer, sick.endpoint()).at("up").as_bool(); }, kPatience));
}

TEST_F(BalancerTest, GatewayFailuresAreRetriedForGetsButAPostIsNeverSentTwice) {
  auto opts = options();
  opts.outlier.consecutive_gateway_failures = 1000;  // keep b0 in play for the POST below
  opts.outlier.consecutive_errors = 1000;
  RunningBalancer balancer(opts);
  backends_[0]->set_status(503);
  for (int i = 0; i < 9; ++i) {
    auto result = get(service(balancer), "/figures");
    ASSERT_TRUE(result.ok());
    EXPECT_EQ(result.response->status, 200) << "a 503 from b0 is retried elsewhere";
  }
  // Round robin sends some POSTs to b0 first: answered 503, they are not sent again.
  const int others_before = backends_[1]->requests() + backends_[2]->requests();
  int refused = 0;
  for (int i = 0; i < 9; ++i) {
    net::HttpRequest post;
    post.method = "POST";
    post.target = "/api/orders";
    post.body = "{}";
    auto result = send(service(balancer), post);
    ASSERT_TRUE(result.ok());
    if (result.response->status == 503) ++refused;
  }
  EXPECT_EQ(refused, 3);
  EXPECT_EQ(backends_[1]->requests() + backends_[2]->requests() - others_before, 6);
  // With an Idempotency-Key a POST may go again.
  for (int i = 0; i < 6; ++i) {
    net::HttpRequest post;
    post.method = "POST";
    post.target = "/api/orders";
    post.headers = {{"Idempotency-Key", "k" + std::to_string(i)}};
    auto result = send(service(balancer), post);
    ASSERT_TRUE(result.ok());
    EXPECT_EQ(result.response->status, 200);
  }
}

TEST_F(BalancerTest, APostInFlightWhenItsBackendDiesIsAnswered502NotRepeated) {
  auto opts = options();
  opts.backends = {{backends_[0]->endpoint(), 1}, {backends_[1]->endpoint(), 1}};
  RunningBalancer balancer(opts);
  // Round robin: the first request goes to b0.
  auto pending = std::async(std::launch::async, [&] {
    net::HttpRequest post;
    post.method = "POST";
    post.target = "/slow";
    post.body = "once";
    return send(service(balancer), post);
  });
  ASSERT_TRUE(eventually([&] { return backends_[0]->in_flight() == 1; }, kPatience));
  backends_[0]->stop();
  auto result = pending.get();
  ASSERT_TRUE(result.ok()) << result.message;
  EXPECT_EQ(result.response->status, 502) << result.response->body;
  EXPECT_NE(result.response->body.find("\"error\""), std::string::npos);
  EXPECT_EQ(backends_[1]->requests(), 0);
}

TEST_F(BalancerTest, NoBackendLeftIsA503WithAJsonBody) {
  auto opts = options();
  opts.backends = {{backends_[0]->endpoint(), 1}};
  RunningBalancer balancer(opts);
  backends_[0]->set_healthy(false);
  ASSERT_TRUE(eventually(
      [&] { return !backend_status(balancer, backends_[0]->endpoint()).at("up").as_bool(); },
      kPatience));
  auto result = get(service(balancer), "/api/figures");
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result.response->status, 503);
  EXPECT_TRUE(boost::json::parse(result.response->body).as_object().contains("error"));
  EXPECT_EQ(result.response->header("Retry-After"), "1");
}

TEST_F(BalancerTest, ACookieKeepsAConversationOnOneBackend) {
  auto opts = options(Algorithm::consistent_hash);
  opts.hash_key = parse_hash_key("cookie:session");
  RunningBalancer balancer(opts);
  std::set<std::string> all;
  for (int session = 0; session < 12; ++session) {
    const std::string cookie = "theme=dark; session=s" + std::to_string(session);
    const auto first = backend_of(get(service(balancer), "/a", {{"Cookie", cookie}}));
    all.insert(first);
    for (int i = 0; i < 5; ++i) {
      EXPECT_EQ(backend_of(get(service(balancer), "/b", {{"Cookie", cookie}})), first);
    }
  }
  EXPECT_GE(all.size(), 2u) << "12 sessions all on one backend";
}

TEST_F(BalancerTest, TheAdminApiAddsAndRemovesBackendsWithAnAdminToken) {
  auto opts = options();
  opts.secret = "0123456789abcdef0123456789abcdef";
  opts.backends = {{backends_[0]->endpoint(), 1}};
  RunningBalancer balancer(opts);
  const auto admin_token = app::mint_with_secret(opts.secret, security::Role::admin, "ops", 60'000);
  const auto read_token =
      app::mint_with_secret(opts.secret, security::Role::read, "viewer", 60'000);
  auto post = [&](const std::string& body, const std::string& token) {
    net::HttpRequest request;
    request.method = "POST";
    request.target = "/api/backends";
    request.body = body;
    if (!token.empty()) request.headers = {{"Authorization", "Bearer " + token}};
    return send(admin(balancer), request);
  };
  const std::string body = R"({"address":")" + backends_[1]->endpoint().str() + R"(","weight":2})";
  EXPECT_EQ(post(body, "").response->status, 401);
  EXPECT_EQ(post(body, read_token).response->status, 403);
  EXPECT_EQ(post(body, "not-a-token").response->status, 401);
  EXPECT_EQ(post(R"({"address":"nowhere"})", admin_token).response->status, 400);
  auto added = post(body, admin_token);
  ASSERT_EQ(added.response->status, 201) << added.response->body;
  EXPECT_EQ(post(body, admin_token).response->status, 409);
  for (int i = 0; i < 9; ++i) ASSERT_TRUE(get(service(balancer), "/x").ok());
  EXPECT_EQ(backends_[1]->requests(), 6) << "weight 2 of 3";

  auto listed = get(admin(balancer), "/api/backends");
  ASSERT_TRUE(listed.ok());
  EXPECT_EQ(boost::json::parse(listed.response->body).at("backends").as_array().size(), 2u);

  net::HttpRequest remove;
  remove.method = "DELETE";
  remove.target = "/api/backends/" + backends_[0]->endpoint().str();
  EXPECT_EQ(send(admin(balancer), remove).response->status, 401);
  remove.headers = {{"Authorization", "Bearer " + admin_token}};
  EXPECT_EQ(send(admin(balancer), remove).response->status, 204);
  EXPECT_EQ(send(admin(balancer), remove).response->status, 404);
  const int before = backends_[0]->requests();
  for (int i = 0; i < 5; ++i) ASSERT_EQ(backend_of(get(service(balancer), "/x")), "b1");
  EXPECT_EQ(backends_[0]->requests(), before);

  auto status = get(admin(balancer), "/api/status");
  ASSERT_TRUE(status.ok());
  auto json = boost::json::parse(status.response->body).as_object();
  EXPECT_EQ(json.at("algorithm").as_string(), "roundrobin");
  EXPECT_TRUE(json.at("serving").as_bool());
  EXPECT_TRUE(json.at("pair").is_null());
  auto metrics = get(admin(balancer), "/metrics");
  ASSERT_TRUE(metrics.ok());
  EXPECT_NE(metrics.response->body.find("isla_balancer_requests_total{backend=\"" +
                                        backends_[1]->endpoint().str() + "\",code=\"200\"} "),
            std::string::npos);
  EXPECT_NE(metrics.response->body.find("isla_balancer_upstream_seconds_bucket"),
            std::string::npos);
}

TEST_F(BalancerTest, ForwardedForNamesTheClientAndIsSigned) {
  auto opts = options();
  opts.secret = "0123456789abcdef0123456789abcdef";
  opts.backends = {{backends_[0]->endpoint(), 1}};
  RunningBalancer balancer(opts);
  net::HttpRequest request;
  request.target = "/who";
  request.headers = {{"X-Forwarded-For", "6.6.6.6"}, {"Isla-Forwarded-Auth", "v1 forged"}};
  net::HttpClientOptions from;
  from.local_address = subnet_ + ".77";
  auto result = send(service(balancer), request, from);
  ASSERT_TRUE(result.ok()) << result.message;
  EXPECT_EQ(backends_[0]->last_forwarded_for(), "6.6.6.6, " + subnet_ + ".77");
  const auto auth = backends_[0]->last_forwarded_auth();
  EXPECT_TRUE(auth.starts_with("v1 ts=")) << auth;
  net::HttpRequest seen = request;
  seen.headers = {{"X-Forwarded-For", backends_[0]->last_forwarded_for()},
                  {"X-Forwarded-Proto", "http"},
                  {"Isla-Forwarded-Auth", auth}};
  security::ForwardedVerifier verifier(opts.secret, backends_[0]->endpoint().str());
  EXPECT_EQ(verifier.trusted_client(seen, core::wall_clock_ms()), subnet_ + ".77");
}

TEST_F(BalancerTest, BadRequestsStopAtTheBalancer) {
  auto opts = options();
  opts.http.max_body_bytes = 1024;
  opts.http.max_header_bytes = 2048;
  opts.http.header_read_timeout = 500ms;
  RunningBalancer balancer(opts);
  const auto to = service(balancer);
  EXPECT_EQ(testing::status_of(testing::raw_exchange(to, "GARBAGE\r\n\r\n")), 400);
  EXPECT_EQ(testing::status_of(testing::raw_exchange(
                to, "GET / HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n")),
            400);
  EXPECT_EQ(testing::status_of(testing::raw_exchange(
                to, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n\r\n" +
                        std::string(5000, 'x'))),
            413);
  EXPECT_EQ(testing::status_of(testing::raw_exchange(
                to, "GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(4000, 'a') + "\r\n\r\n")),
            431);
  // A slow client (half a head, then nothing) is closed without reaching anyone.
  testing::RawConnection slow(to, "GET / HTTP/1.1\r\nHost: x\r\n");
  const auto started = std::chrono::steady_clock::now();
  slow.read_to_end(5s);
  EXPECT_LT(std::chrono::steady_clock::now() - started, 4s);
  for (const auto& backend : backends_) EXPECT_EQ(backend->requests(), 0);
  // A good request still goes through.
  EXPECT_EQ(get(to, "/fine").response->status, 200);
}

TEST_F(BalancerTest, TheServiceAddressIsBoundAndUnboundAtRunTime) {
  auto opts = options();
  opts.listen = {subnet_ + ".2", 18080};
  opts.serve_at_start = false;
  RunningBalancer balancer(opts);
  const core::Endpoint vip{subnet_ + ".2", 18080};
  // Standby: nothing listens, the admin API answers.
  EXPECT_FALSE(balancer->serving());
  EXPECT_EQ(get(vip, "/x").error, net::ClientErrorKind::connect);
  auto status = get(admin(balancer), "/api/status");
  ASSERT_TRUE(status.ok());
  EXPECT_FALSE(boost::json::parse(status.response->body).at("serving").as_bool());

  ASSERT_TRUE(balancer->serve_service_address(true));
  ASSERT_TRUE(balancer->serve_service_address(true));  // idempotent
  EXPECT_EQ(get(vip, "/x").response->status, 200);

  // Unbound with a request in flight: it finishes; new connections are refused.
  auto pending = std::async(std::launch::async, [&] { return get(vip, "/slow"); });
  ASSERT_TRUE(eventually(
      [&] {
        int sum = 0;
        for (const auto& backend : backends_) sum += backend->in_flight();
        return sum == 1;
      },
      kPatience));
  ASSERT_TRUE(balancer->serve_service_address(false));
  EXPECT_FALSE(balancer->serving());
  EXPECT_EQ(get(vip, "/x").error, net::ClientErrorKind::connect);
  auto finished = pending.get();
  ASSERT_TRUE(finished.ok()) << finished.message;
  EXPECT_EQ(finished.response->status, 200);

  // And bound again on the same address at once.
  ASSERT_TRUE(balancer->serve_service_address(true));
  EXPECT_EQ(get(vip, "/x").response->status, 200);
}

TEST_F(BalancerTest, ServingAnAddressSomeoneElseHoldsFailsWithoutHarm) {
  auto opts = options();
  opts.serve_at_start = false;
  Backend squatter("squatter", {subnet_ + ".3", 0});
  opts.listen = squatter.endpoint();
  RunningBalancer balancer(opts);
  EXPECT_FALSE(balancer->serve_service_address(true));
  EXPECT_FALSE(balancer->serving());
  EXPECT_TRUE(get(admin(balancer), "/api/status").ok());
}

// Real gateways: X-Forwarded-For is believed from the balancer only.
TEST(BalancerGatewayTest, AGatewayBelievesTheBalancersForwardedForAndNotAClients) {
  testing::Island island;
  island.start_gateway();
  const auto secret = security::load_secret_file(island.secret_file());
  const auto subnet = island.gateway().host.substr(0, island.gateway().host.rfind('.'));
  BalancerOptions opts;
  opts.listen = {subnet + ".90", 0};
  opts.backends = {{island.gateway(), 1}};
  opts.secret = secret;
  opts.threads = 1;
  RunningBalancer balancer(opts);
  const core::Endpoint service{subnet + ".90", balancer->service_port()};
  const auto audit = island.dir() / "gateway" / "audit.log";

  // A store read without a token is refused and audited with its source.
  net::HttpRequest request;
  request.target = "/api/kv/balancer-test";
  request.headers = {{"X-Forwarded-For", "6.6.6.6"}};
  net::HttpClientOptions from;
  from.local_address = subnet + ".77";

  // Straight at the gateway, the forged header is ignored: the peer is the source.
  auto direct = send(island.gateway(), request, from);
  ASSERT_TRUE(direct.ok());
  EXPECT_EQ(direct.response->status, 401);
  ASSERT_TRUE(eventually(
      [&] {
        return testing::read_file(audit).find("\"source\":\"" + subnet + ".77:") !=
               std::string::npos;
      },
      kPatience))
      << testing::read_file(audit);
  EXPECT_EQ(testing::read_file(audit).find("6.6.6.6"), std::string::npos);

  // Through the balancer, the gateway's peer is the balancer but the source is the client.
  auto proxied = send(service, request, from);
  ASSERT_TRUE(proxied.ok());
  EXPECT_EQ(proxied.response->status, 401);
  ASSERT_TRUE(eventually(
      [&] {
        return testing::read_file(audit).find("\"source\":\"" + subnet + ".77\"") !=
               std::string::npos;
      },
      kPatience))
      << testing::read_file(audit);
  EXPECT_EQ(testing::read_file(audit).find("6.6.6.6"), std::string::npos);
  // Figures pass through the balancer as they are.
  auto figures = get(service, "/api/figures");
  ASSERT_TRUE(figures.ok());
  EXPECT_EQ(figures.response->status, 200);
}

}  // namespace
}  // namespace isla::balancer

namespace isla::balancer {
namespace {

// The command: bad flags are refused with exit 2; SIGTERM finishes the request in flight and
// exits 0.
TEST(BalancerCommandTest, RefusesBadFlagsAndStopsGracefullyOnSigterm) {
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"balancer", "--listen", "127.0.0.1:0"},
        std::vector<std::string>{"balancer", "--backends", "127.0.0.1:1", "--algorithm", "random"},
        std::vector<std::string>{"balancer", "--backends", "127.0.0.1:1", "--hash-key", "cookie:s"},
        std::vector<std::string>{"balancer", "--backends", "127.0.0.1:1=999"},
        std::vector<std::string>{"balancer", "--backends", "127.0.0.1:1", "--check-interval",
                                 "soon"}}) {
    auto result = testing::run_isla(args);
    EXPECT_EQ(result.exit_code, app::kExitUsage) << result.output;
  }

  const auto subnet = testing::unique_subnet();
  Backend backend("b", {subnet + ".11", 0});
  const core::Endpoint service{subnet + ".1", 18090};
  const auto log = std::filesystem::temp_directory_path() /
                   ("isla-balancer-" + std::to_string(::getpid()) + ".log");
  auto process = core::ChildProcess::spawn(
      {ISLA_BINARY, "balancer", "--listen", service.str(), "--backends", backend.endpoint().str(),
       "--admin", subnet + ".1:18091", "--data-dir",
       (std::filesystem::temp_directory_path() / ("isla-balancer-" + std::to_string(::getpid())))
           .string()},
      log.string());
  ASSERT_TRUE(eventually([&] { return get(service, "/x").ok(); }, kPatience))
      << testing::read_file(log);
  auto pending = std::async(std::launch::async, [&] { return get(service, "/slow"); });
  ASSERT_TRUE(eventually([&] { return backend.in_flight() == 1; }, kPatience));
  process.signal(SIGTERM);
  auto finished = pending.get();
  ASSERT_TRUE(finished.ok()) << finished.message;
  EXPECT_EQ(finished.response->status, 200);
  EXPECT_EQ(process.wait_for(kPatience), 0) << testing::read_file(log);
}

}  // namespace
}  // namespace isla::balancer

namespace isla::balancer {
namespace {

// TLS termination with the island's certificates: HTTPS from the client to the balancer and
// from the balancer to a gateway that serves HTTPS only.
TEST(BalancerTlsTest, TerminatesHttpsAndCallsHttpsGateways) {
  testing::Island island;
  const auto subnet = island.gateway().host.substr(0, island.gateway().host.rfind('.'));
  const core::Endpoint service{subnet + ".90", 18443};
  const auto certs = island.dir() / "tls";
  auto made = testing::run_isla({"certs", "init", "--dir", certs.string(), "--hosts",
                                 island.gateway().host + "," + service.host});
  ASSERT_EQ(made.exit_code, 0) << made.output;
  net::HttpClientOptions trusting;
  trusting.tls = net::make_client_tls(certs / "ca.pem");
  island.set_client_options(trusting);
  island.start_gateway({"--tls-dir", certs.string()});
  const auto log = island.dir() / "balancer.log";
  auto process = core::ChildProcess::spawn(
      {ISLA_BINARY, "balancer", "--listen", service.str(), "--backends", island.gateway().str(),
       "--tls-dir", certs.string(), "--secret-file", island.secret_file().string(), "--data-dir",
       (island.dir() / "balancer").string()},
      log.string());
  net::HttpRequest request;
  request.target = "/api/figures";
  ASSERT_TRUE(eventually(
      [&] {
        auto result = net::fetch(service, request, 1s, trusting);
        return result.ok() && result.response->status == 200;
      },
      kPatience))
      << testing::read_file(log);
  // The gateway was reached over HTTPS (it speaks nothing else) and the client over HTTPS:
  // plain HTTP to the service address gets no answer.
  EXPECT_FALSE(net::fetch(service, request, 1s).ok());
  process.signal(SIGTERM);
  EXPECT_EQ(process.wait_for(kPatience), 0) << testing::read_file(log);
}

}  // namespace
}  // namespace isla::balancer

namespace isla::balancer {
namespace {

// --discover-from: the backends follow what a gateway's /api/status lists (itself and its
// peers that are not dead); backends given otherwise stay.
TEST_F(BalancerTest, ServerSentEventsPassThroughAsTheyArriveNotWhenTheStreamEnds) {
  RunningBalancer balancer(options());
  const auto seen = read_events(balancer, "/api/events?topics=tasks");
  ASSERT_TRUE(seen.result.head.has_value()) << seen.result.message;
  EXPECT_EQ(seen.result.head->status, 200);
  EXPECT_EQ(seen.result.head->content_type, "text/event-stream");
  EXPECT_EQ(seen.result.error, net::ClientErrorKind::none) << seen.result.message;
  EXPECT_EQ(seen.events, (std::vector<std::string>{"1:first", "2:second"}));
  EXPECT_TRUE(seen.open_at_first) << "the first event came only after the backend's stream ended";
}

// The backend serving a stream dies after its first event: the client must see its stream
// cut short (an error), not a clean end it would take for "no more events", so that it
// reconnects with Last-Event-ID; and the balancer goes on serving.
TEST_F(BalancerTest, AStreamWhoseBackendDiesMidWayIsCutShortNotEnded) {
  RunningBalancer balancer(options());
  const auto cut = read_events(balancer, "/api/events?topics=tasks&die=mid-stream");
  ASSERT_TRUE(cut.result.head.has_value()) << cut.result.message;
  EXPECT_EQ(cut.result.head->status, 200);
  EXPECT_EQ(cut.events, (std::vector<std::string>{"1:first"}));
  EXPECT_NE(cut.result.error, net::ClientErrorKind::none)
      << "a stream cut by its backend's death reached the client as a clean end";

  const auto next = read_events(balancer, "/api/events?topics=tasks");
  EXPECT_EQ(next.result.error, net::ClientErrorKind::none) << next.result.message;
  EXPECT_EQ(next.events, (std::vector<std::string>{"1:first", "2:second"}));
}

TEST_F(BalancerTest, DiscoveryFollowsTheGatewaysAGatewayLists) {
  std::mutex mutex;
  boost::json::object listed;
  auto list = [&](int count, bool last_dead) {
    boost::json::array peers;
    for (int i = 1; i < count; ++i) {
      peers.push_back({{"address", backends_[i]->endpoint().str()},
                       {"state", (last_dead && i == count - 1) ? "dead" : "alive"}});
    }
    std::lock_guard lock(mutex);
    listed = {{"node", backends_[0]->endpoint().str()}, {"peers", std::move(peers)}};
  };
  list(2, false);
  net::IoPool pool(1);
  net::HttpServer status(pool, {subnet_ + ".50", 0}, {},
                         [&](net::HttpRequest& request) -> asio::awaitable<net::HttpResponse> {
                           if (request.path() != "/api/status") {
                             co_return net::json_error(404, "no");
                           }
                           std::string body;
                           {
                             std::lock_guard lock(mutex);
                             body = boost::json::serialize(listed);
                           }
                           co_return net::json_response(200, std::move(body));
                         });
  status.start();
  std::thread status_thread([&] { pool.run(); });
  testing::ScopeExit stop_status([&] {
    pool.stop();
    status_thread.join();
  });

  auto opts = options();
  opts.backends = {};
  opts.discover_from = core::Endpoint{subnet_ + ".50", status.port()};
  opts.discover_interval = 100ms;
  RunningBalancer balancer(opts);
  auto addresses = [&] {
    std::set<std::string> out;
    for (const auto& backend : balancer->backends_json()) {
      out.insert(std::string(backend.as_object().at("address").as_string()));
    }
    return out;
  };
  const std::set<std::string> two{backends_[0]->endpoint().str(), backends_[1]->endpoint().str()};
  ASSERT_TRUE(eventually([&] { return addresses() == two; }, kPatience));
  list(3, false);
  ASSERT_TRUE(eventually([&] { return addresses().size() == 3; }, kPatience));
  for (int i = 0; i < 9; ++i) ASSERT_TRUE(get(service(balancer), "/x").ok());
  for (const auto& backend : backends_) EXPECT_EQ(backend->requests(), 3);
  // The third declared dead: removed.
  list(3, true);
  EXPECT_TRUE(eventually([&] { return addresses() == two; }, kPatience));
}

}  // namespace
}  // namespace isla::balancer
