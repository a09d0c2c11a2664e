// The real `isla balancer` pair on loopback, in front of an island of three gateways: two
// balancers share one service address (127.A.B.100:8080); the active one binds it, the
// standby binds it when it takes over. A client only ever talks to the service address.
//   - the active balancer is killed (SIGKILL) under a load of GETs: the interruption is
//     measured and reported, no request started after the takeover fails, and exactly one
//     balancer is active afterwards (also once the killed one is back);
//   - the pair's heartbeats are dropped (iptables, root only) and restored: both lead while
//     apart, but on loopback only one can bind the address; once healed exactly one is active;
//   - a gateway is killed under load through the balancer: no client error;
//   - an order is built over many requests; the gateway that served the last one (the
//     balancer's Isla-Backend header says which) is killed; the next request succeeds on
//     another gateway and the order holds every add exactly once;
//   - the gateway serving a client's event stream (through the balancer) is killed: the
//     client sees its stream cut short, not ended, and resumes it with Last-Event-ID through
//     the same address, on another gateway, missing no event and repeating none.
#include <gtest/gtest.h>

#include <atomic>
#include <csignal>
#include <filesystem>
#include <mutex>
#include <sstream>
#include <thread>

#include "chaos/link_cut.hpp"
#include "core/child_process.hpp"
#include "net/stream_call.hpp"
#include "support/load.hpp"
#include "support/measured.hpp"
#include "support/order_island.hpp"
#include "support/raw_http.hpp"
#include "support/run_command.hpp"

namespace isla::testing {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

constexpr int kGateways = 3;
constexpr std::uint16_t kServicePort = 8080;
constexpr std::uint16_t kHeartbeatPort = 7946;
constexpr std::uint16_t kAdminPort = 8081;

std::int64_t millis(Clock::duration d) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
}

// Drops the pair's heartbeat datagrams both ways while it lives (iptables OUTPUT rules).
class HeartbeatCut {
 public:
  HeartbeatCut(std::string a, std::string b) : a_(std::move(a)), b_(std::move(b)) {
    if (auto result = rule("-I", a_, b_); result.exit_code != 0) {
      throw std::runtime_error("iptables: " + result.output);
    }
    if (auto result = rule("-I", b_, a_); result.exit_code != 0) {
      rule("-D", a_, b_);
      throw std::runtime_error("iptables: " + result.output);
    }
  }
  ~HeartbeatCut() { heal(); }
  void heal() {
    if (healed_) return;
    healed_ = true;
    for (const auto& [from, to] : {std::pair{a_, b_}, std::pair{b_, a_}}) {
      if (auto result = rule("-D", from, to); result.exit_code != 0) {
        ADD_FAILURE() << "could not remove the rule dropping " << from << " -> " << to
                      << " (iptables -D OUTPUT ... isla-test-pair-cut): " << result.output;
      }
    }
  }

 private:
  static CommandResult rule(const std::string& action, const std::string& from,
                            const std::string& to) {
    std::istringstream words("-w 10 " + action + " OUTPUT -s " + from + " -d " + to +
                             " -p udp --dport " + std::to_string(kHeartbeatPort) +
                             " -m comment --comment isla-test-pair-cut -j DROP");
    std::vector<std::string> argv = {
        std::filesystem::exists("/usr/sbin/iptables") ? "/usr/sbin/iptables" : "/sbin/iptables"};
    for (std::string word; words >> word;) argv.push_back(word);
    return run_command(argv);
  }
  std::string a_, b_;
  bool healed_ = false;
};

// GETs through the service address on fresh connections, every outcome kept with its time.
class TimedLoad {
 public:
  struct Outcome {
    Clock::time_point started, ended;
    bool ok = false;
    std::string what;
  };
  TimedLoad(core::Endpoint service, int clients) : service_(std::move(service)) {
    for (int i = 0; i < clients; ++i) threads_.emplace_back([this] { run(); });
  }
  ~TimedLoad() { stop(); }
  void stop() {
    stop_ = true;
    for (auto& thread : threads_) {
      if (thread.joinable()) thread.join();
    }
  }
  std::uint64_t succeeded() const { return succeeded_; }
  std::vector<Outcome> outcomes() const {
    std::lock_guard lock(mutex_);
    return outcomes_;
  }

 private:
  void run() {
    const auto give_up = Clock::now() + 90s;
    for (int i = 0; i < 100'000 && !stop_ && Clock::now() < give_up; ++i) {
      net::HttpRequest request;
      request.target = "/api/figures/giraffe";
      Outcome outcome;
      outcome.started = Clock::now();
      auto result = net::fetch(service_, request, 3000ms);
      outcome.ended = Clock::now();
      outcome.ok = result.ok() && result.response->status == 200;
      if (!outcome.ok) {
        outcome.what = result.ok() ? std::to_string(result.response->status) + " " +
                                         result.response->body.substr(0, 200)
                                   : result.message;
      } else {
        ++succeeded_;
      }
      {
        std::lock_guard lock(mutex_);
        outcomes_.push_back(std::move(outcome));
      }
      if (!outcome.ok) std::this_thread::sleep_for(5ms);  // refused at once: do not spin
    }
  }
  core::Endpoint service_;
  std::atomic<bool> stop_{false};
  std::atomic<std::uint64_t> succeeded_{0};
  mutable std::mutex mutex_;
  std::vector<Outcome> outcomes_;
  std::vector<std::thread> threads_;
};

// A client's server-sent event stream through the service address, read on a thread of its
// own until it ends, fails, or brings an event whose data contains `until`.
class EventStream {
 public:
  EventStream(const core::Endpoint& service, const std::string& token,
              const std::string& last_event_id, std::string until)
      : until_(std::move(until)) {
    request_.target = "/api/events?topics=tasks";
    request_.headers.emplace_back("Accept", "text/event-stream");
    request_.headers.emplace_back("Authorization", "Bearer " + token);
    if (!last_event_id.empty()) request_.headers.emplace_back("Last-Event-ID", last_event_id);
    thread_ = std::thread([this, service] { run(service); });
  }
  ~EventStream() {
    if (thread_.joinable()) thread_.join();
  }
  bool ended() const { return ended_; }
  std::vector<net::SseEvent> events() const {
    std::lock_guard lock(mutex_);
    return events_;
  }
  bool saw(const std::string& text) const {
    for (const auto& event : events()) {
      if (event.data.find(text) != std::string::npos) return true;
    }
    return false;
  }
  // The backend the balancer named in the stream's head; empty before it arrived.
  std::string backend() const {
    std::lock_guard lock(mutex_);
    return backend_;
  }
  net::StreamResult result() const {
    std::lock_guard lock(mutex_);
    return result_;
  }

 private:
  void run(const core::Endpoint& service) {
    asio::io_context context(1);
    asio::co_spawn(context, read(service), asio::detached);
    context.run();
    ended_ = true;
  }
  asio::awaitable<void> read(core::Endpoint service) {
    net::StreamOptions options;
    options.idle_timeout = 40s;  // the gateway sends a keep-alive every 15 s
    auto call = co_await net::StreamCall::open(service, request_, options);
    {
      std::lock_guard lock(mutex_);
      if (const auto& head = call->result().head) {
        backend_ = std::string(head->header("Isla-Backend").value_or(""));
      }
    }
    net::SseParser parser;
    bool more = true;
    while (more) {
      auto piece = co_await call->next();
      if (!piece) break;
      more = parser.feed(*piece, [&](const net::SseEvent& event) {
        std::lock_guard lock(mutex_);
        events_.push_back(event);
        return until_.empty() || event.data.find(until_) == std::string::npos;
      });
    }
    std::lock_guard lock(mutex_);
    result_ = call->result();
  }
  net::HttpRequest request_;
  std::string until_;
  mutable std::mutex mutex_;
  std::string backend_;
  std::vector<net::SseEvent> events_;
  net::StreamResult result_;
  std::atomic<bool> ended_{false};
  std::thread thread_;
};

class BalancerPairChaos : public ::testing::Test {
 protected:
  void SetUp() override {
    start_order_island(island_, kGateways, {"giraffe", "lion", "owl"});
    const auto& host = island_.gateway(0).host;
    subnet_ = host.substr(0, host.rfind('.'));
    service_ = {subnet_ + ".100", kServicePort};
  }
  void TearDown() override {
    for (auto& balancer : balancers_) balancer.reset();
    if (HasFailure()) {
      for (int i = 0; i < 2; ++i) std::cerr << "--- balancer " << i << " ---\n" << log(i) << "\n";
    }
  }

  std::string pair_host(int i) const { return subnet_ + "." + std::to_string(101 + i); }
  core::Endpoint admin(int i) const { return {pair_host(i), kAdminPort}; }
  std::filesystem::path log_path(int i) const {
    return island_.dir() / ("balancer-" + std::to_string(i) + ".log");
  }
  std::string log(int i) const { return read_file(log_path(i)); }

  // Balancer 0 has the higher priority.
  void start_balancer(int i) {
    std::string backends;
    for (const auto& gateway : gateway_endpoints(island_, kGateways)) {
      backends += (backends.empty() ? "" : ",") + gateway.str();
    }
    balancers_[i].emplace(core::ChildProcess::spawn(
        {ISLA_BINARY,        "balancer",
         "--listen",         service_.str(),
         "--backends",       backends,
         "--admin",          admin(i).str(),
         "--heartbeat",      pair_host(i) + ":" + std::to_string(kHeartbeatPort),
         "--peer",           pair_host(1 - i) + ":" + std::to_string(kHeartbeatPort),
         "--priority",       i == 0 ? "200" : "100",
         "--secret-file",    island_.secret_file().string(),
         "--data-dir",       (island_.dir() / ("balancer-" + std::to_string(i))).string(),
         "--check-interval", "500ms",
         "--fall",           "2",
         "--name-backend"},
        log_path(i).string()));
  }

  // The balancer's pair status ("role", "term", "holds_address", ...); null when it does not
  // answer.
  json::value pair_status(int i) const {
    net::HttpRequest request;
    request.target = "/api/status";
    auto result = net::fetch(admin(i), request, 2000ms);
    if (!result.ok() || result.response->status != 200) return nullptr;
    json::error_code error;
    auto value = json::parse(result.response->body, error);
    if (error || !value.is_object() || !value.as_object().contains("pair")) return nullptr;
    return value.at("pair");
  }
  std::string role(int i) const {
    auto status = pair_status(i);
    return status.is_object() ? std::string(status.at("role").as_string()) : "";
  }
  bool holds(int i) const {
    auto status = pair_status(i);
    return status.is_object() && status.at("holds_address").as_bool();
  }
  int active_count() const { return int(role(0) == "active") + int(role(1) == "active"); }
  int holder_count() const { return int(holds(0)) + int(holds(1)); }

  bool service_answers() const {
    net::HttpRequest request;
    request.target = "/api/figures/giraffe";
    auto result = net::fetch(service_, request, 2000ms);
    return result.ok() && result.response->status == 200;
  }

  void start_pair_and_wait() {
    start_balancer(0);
    start_balancer(1);
    ASSERT_TRUE(eventually(
        [&] { return role(0) == "active" && role(1) == "standby" && service_answers(); }, 30s))
        << "pair never settled: " << json::serialize(pair_status(0)) << " / "
        << json::serialize(pair_status(1));
  }

  Island island_;
  std::string subnet_;
  core::Endpoint service_;
  std::optional<core::ChildProcess> balancers_[2];
};

TEST_F(BalancerPairChaos, KillingTheActiveBalancerUnderLoadCostsOnlyTheTakeover) {
  start_pair_and_wait();
  TimedLoad load(service_, 4);
  ASSERT_TRUE(eventually([&] { return load.succeeded() >= 100; }, 30s));
  const auto killed = Clock::now();
  balancers_[0]->signal(SIGKILL);
  ASSERT_TRUE(eventually([&] { return role(1) == "active"; }, 10s))
      << json::serialize(pair_status(1));
  const auto before = load.succeeded();
  ASSERT_TRUE(eventually([&] { return load.succeeded() >= before + 200; }, 30s));
  load.stop();

  // The takeover is done at the end of the first request that started after the kill and
  // succeeded; from then on nothing may fail.
  const auto outcomes = load.outcomes();
  std::optional<Clock::time_point> back;
  for (const auto& outcome : outcomes) {
    if (outcome.ok && outcome.started >= killed && (!back || outcome.ended < *back)) {
      back = outcome.ended;
    }
  }
  ASSERT_TRUE(back.has_value());
  int failed_during = 0;
  std::vector<std::string> failed_after;
  for (const auto& outcome : outcomes) {
    if (outcome.ok) continue;
    if (outcome.started >= *back) {
      failed_after.push_back(outcome.what);
    } else {
      ++failed_during;
    }
  }
  report("balancer pair on loopback: service address silent after kill -9 of the active (ms)",
         std::to_string(millis(*back - killed)));
  report("balancer pair on loopback: requests failed during the takeover",
         std::to_string(failed_during) + " of " + std::to_string(outcomes.size()));
  EXPECT_TRUE(failed_after.empty())
      << failed_after.size()
      << " requests failed after the takeover, first: " << failed_after.front();
  EXPECT_LT(millis(*back - killed), 5000) << "generous for a loaded machine";
  EXPECT_EQ(role(1), "active");
  EXPECT_TRUE(holds(1));

  // The preferred balancer comes back, takes over with a higher term, and only it is active.
  const auto survivor_term = pair_status(1).at("term").to_number<std::uint64_t>();
  balancers_[0].reset();
  start_balancer(0);
  ASSERT_TRUE(eventually([&] { return role(0) == "active" && role(1) == "standby"; }, 20s))
      << json::serialize(pair_status(0)) << " / " << json::serialize(pair_status(1));
  EXPECT_GT(pair_status(0).at("term").to_number<std::uint64_t>(), survivor_term);
  EXPECT_EQ(active_count(), 1);
  EXPECT_EQ(holder_count(), 1);
  EXPECT_TRUE(service_answers());
}

TEST_F(BalancerPairChaos, APartitionedPairHealsToExactlyOneActive) {
  if (auto why = LinkCut::unavailable()) GTEST_SKIP() << *why;
  start_pair_and_wait();
  const auto term_before = pair_status(0).at("term").to_number<std::uint64_t>();
  {
    HeartbeatCut cut(pair_host(0), pair_host(1));
    // Apart, each believes the other dead and leads (two members have no majority). On
    // loopback only one socket can bind the service address: the first keeps it, the other
    // leads without holding it, retrying at every tick.
    ASSERT_TRUE(eventually([&] { return role(1) == "taking_over" || role(1) == "active"; }, 10s))
        << json::serialize(pair_status(1));
    for (int i = 0; i < 5; ++i) {
      EXPECT_EQ(holder_count(), 1)
          << json::serialize(pair_status(0)) << " / " << json::serialize(pair_status(1));
      EXPECT_TRUE(service_answers());
      std::this_thread::sleep_for(200ms);
    }
    cut.heal();
  }
  ASSERT_TRUE(eventually([&] { return active_count() == 1 && holder_count() == 1; }, 10s))
      << json::serialize(pair_status(0)) << " / " << json::serialize(pair_status(1));
  // And it stays so, with the preferred member in front and a term above the one before.
  for (int i = 0; i < 10; ++i) {
    EXPECT_EQ(active_count(), 1);
    EXPECT_EQ(holder_count(), 1);
    std::this_thread::sleep_for(200ms);
  }
  EXPECT_TRUE(eventually([&] { return role(0) == "active" && role(1) == "standby"; }, 10s))
      << json::serialize(pair_status(0)) << " / " << json::serialize(pair_status(1));
  EXPECT_GT(pair_status(0).at("term").to_number<std::uint64_t>(), term_before);
  EXPECT_TRUE(service_answers());
}

TEST_F(BalancerPairChaos, AGatewayKilledUnderLoadCostsClientsNothing) {
  start_pair_and_wait();
  SteadyLoad load(service_, {"giraffe", "lion", "owl"}, 4);
  ASSERT_TRUE(load.wait_for_more(200, 30s)) << "no load through the balancer";
  island_.gateway_process(2).signal(SIGKILL);
  ASSERT_TRUE(load.wait_for_more(500, 60s));
  load.stop();
  const auto failures = load.failures();
  EXPECT_TRUE(failures.empty()) << failures.size() << " failed, first: " << failures.front();
  report("balancer pair on loopback: GETs through the balancer while a gateway died",
         std::to_string(load.succeeded()) + " succeeded, " + std::to_string(failures.size()) +
             " failed");
}

TEST_F(BalancerPairChaos, AnOrderSurvivesTheDeathOfTheGatewayThatServedItsLastRequest) {
  start_pair_and_wait();
  const auto token = token_for(island_, "shopper", security::Role::write);
  const auto gateways = gateway_endpoints(island_, kGateways);
  // Each add carries its idempotency key twice: in the body, for the order (exactly once),
  // and as Idempotency-Key, which tells the balancer that resending the POST is safe.
  auto send = [&](const std::string& method, const std::string& target, const std::string& body,
                  const std::string& key) {
    net::HttpRequest request;
    request.method = method;
    request.target = target;
    request.body = body;
    request.headers.emplace_back("Authorization", "Bearer " + token);
    if (!key.empty()) request.headers.emplace_back("Idempotency-Key", key);
    return net::fetch(service_, request, 20'000ms);
  };
  auto served_by = [&](const net::ClientResult& result) {
    const auto named = result.response->header("Isla-Backend");
    if (!named) return -1;
    for (int g = 0; g < kGateways; ++g) {
      if (gateways[g].str() == *named) return g;
    }
    return -1;
  };
  auto created = send("POST", "/api/orders", R"({"idempotency_key":"pair-order"})", "pair-order");
  ASSERT_TRUE(created.ok()) << created.message;
  ASSERT_EQ(created.response->status, 201) << created.response->body;
  const std::string id(json::parse(created.response->body).at("id").as_string());

  constexpr int kAdds = 30;
  constexpr int kKillAfter = 12;
  int total_quantity = 0;
  int killed = -1;
  std::set<int> served;
  for (int i = 0; i < kAdds; ++i) {
    const std::string key = "add-" + std::to_string(i);
    const int quantity = 1 + i % 5;
    const auto body = json::serialize(json::object{
        {"figure", i % 2 ? "owl" : "lion"}, {"quantity", quantity}, {"idempotency_key", key}});
    auto answer = send("POST", "/api/orders/" + id + "/items", body, key);
    ASSERT_TRUE(answer.ok()) << "add " << i << ": " << answer.message;
    ASSERT_TRUE(answer.response->status == 200 || answer.response->status == 201)
        << "add " << i << (killed >= 0 ? " (after the kill)" : "") << ": "
        << answer.response->status << " " << answer.response->body;
    const int gateway = served_by(answer);
    ASSERT_GE(gateway, 0) << "no Isla-Backend header naming a gateway";
    served.insert(gateway);
    if (killed >= 0) {
      EXPECT_NE(gateway, killed) << "add " << i << " served by the dead gateway";
    }
    total_quantity += quantity;
    if (i + 1 == kKillAfter) {
      killed = gateway;
      island_.gateway_process(gateway).signal(SIGKILL);
    }
  }
  EXPECT_GE(served.size(), 2u) << "the balancer spreads the conversation over the gateways";

  auto read = send("GET", "/api/orders/" + id, "", "");
  ASSERT_TRUE(read.ok()) << read.message;
  ASSERT_EQ(read.response->status, 200) << read.response->body;
  EXPECT_NE(served_by(read), killed);
  const auto order = json::parse(read.response->body);
  const auto keys = items_by_key(order);
  EXPECT_EQ(keys.size(), static_cast<std::size_t>(kAdds)) << json::serialize(order);
  for (int i = 0; i < kAdds; ++i) {
    const auto found = keys.find("add-" + std::to_string(i));
    ASSERT_NE(found, keys.end()) << "add-" << i << " lost";
    EXPECT_EQ(found->second, 1) << "add-" << i << " applied " << found->second << " times";
  }
  int quantity = 0;
  for (const auto& item : order.at("items").as_array()) {
    quantity += static_cast<int>(item.at("quantity").to_number<std::int64_t>());
  }
  EXPECT_EQ(quantity, total_quantity);
}

TEST_F(BalancerPairChaos, AnEventStreamCutByItsGatewaysDeathResumesOnAnotherWithoutLoss) {
  start_pair_and_wait();
  const auto token = token_for(island_, "watcher", security::Role::write);
  const auto gateways = gateway_endpoints(island_, kGateways);
  // Tasks stay queued (no workers): each submission is one event on the tasks topic.
  auto submit = [&](const std::string& key) -> std::string {
    net::HttpRequest request;
    request.method = "POST";
    request.target = "/api/tasks";
    request.body = R"({"type":"sum","params":{"values":[1,2]},"idempotency_key":")" + key + "\"}";
    request.headers.emplace_back("Authorization", "Bearer " + token);
    request.headers.emplace_back("Idempotency-Key", key);  // the balancer may resend it
    std::string id;
    // The store may be electing a new leader after a kill: resubmit (same key) until taken.
    eventually(
        [&] {
          auto answer = net::fetch(service_, request, 5000ms);
          if (!answer.ok() || (answer.response->status != 200 && answer.response->status != 202)) {
            return false;
          }
          id = std::string(json::parse(answer.response->body).at("id").as_string());
          return true;
        },
        30s);
    return id;
  };

  auto first = std::make_unique<EventStream>(service_, token, "", "");
  // A task submitted once the stream's head arrived is in it; one submitted in the instant
  // before the gateway subscribed may not be, so the next gets a new key.
  std::string before;
  int tries = 0;
  ASSERT_TRUE(eventually(
      [&] {
        if (first->backend().empty() || first->ended()) return false;
        if (before.empty() || !first->saw(before)) {
          before = submit("before-" + std::to_string(++tries));
        }
        return !before.empty() && first->saw(before);
      },
      30s))
      << "the stream never showed a task submitted after it opened: " << first->result().message;
  int serving = -1;
  for (int g = 0; g < kGateways; ++g) {
    if (gateways[g].str() == first->backend()) serving = g;
  }
  ASSERT_GE(serving, 0) << "the balancer named no gateway for the stream: " << first->backend();
  const std::string resume_from = first->events().back().id;
  const auto events_before = first->events().size();

  island_.gateway_process(serving).signal(SIGKILL);
  ASSERT_TRUE(eventually([&] { return first->ended(); }, 20s))
      << "the stream outlived its gateway by 20 s";
  const auto cut = first->result();
  EXPECT_NE(cut.error, net::ClientErrorKind::none)
      << "a stream whose gateway died must end in an error, not as if it were complete";
  EXPECT_EQ(first->events().size(), events_before) << "events after the gateway's death?";

  // Meanwhile the island goes on; the client resumes from the last event it saw.
  const auto after = submit("after-the-kill");
  ASSERT_FALSE(after.empty()) << "no task accepted after the gateway's death";
  EventStream resumed(service_, token, resume_from, after);
  ASSERT_TRUE(eventually([&] { return resumed.saw(after) || resumed.ended(); }, 30s));
  EXPECT_TRUE(resumed.saw(after)) << "the resumed stream ended without the task: "
                                  << resumed.result().message;
  EXPECT_NE(resumed.backend(), gateways[serving].str()) << "resumed on the dead gateway";
  for (const auto& event : resumed.events()) {
    EXPECT_EQ(event.data.find(before), std::string::npos)
        << "an event the client had already seen came again: " << event.id;
  }
  report("balancer pair on loopback: event stream through the balancer, its gateway killed",
         "cut short with an error (" + cut.message + "), resumed on " + resumed.backend() +
             " with " + std::to_string(resumed.events().size()) + " events");
}

}  // namespace
}  // namespace isla::testing
