// Issue 12's queue under crashes, on real processes: 10,000 async tasks submitted through 3
// gateways and run by 4 workers while one worker and then the gateway that leads the store
// (and so runs the queue) are killed with SIGKILL. Every task must end done, none lost and
// none submitted twice (each submission carries an idempotency key and is retried on
// another gateway until acknowledged); the events feed must show exactly one recorded result
// per task. Executions repeated because of the kills are counted and reported.
// Parameterised over the back ends (issue 14): the embedded store and queue; the queue on
// NATS JetStream (a real 3-node nats-server -js cluster, one of whose servers is killed
// too); and the store on etcd (a real 3-member etcd cluster, whose leader is killed and
// restarted under the load, and the gateway killed is the one holding the election).
#include <gtest/gtest.h>

#include <atomic>
#include <csignal>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <thread>

#include "net/http_stream.hpp"
#include "support/etcd_cluster.hpp"
#include "support/island.hpp"
#include "support/measured.hpp"
#include "support/nats_cluster.hpp"
#include "support/raw_http.hpp"

namespace isla::testing {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

constexpr int kGateways = 3;
constexpr int kWorkers = 4;
constexpr int kTasks = 10'000;
constexpr int kSubmitters = 8;

class TaskChaos : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    std::vector<std::string> flags;
    if (GetParam() == "nats") {
      nats_ = std::make_unique<NatsCluster>(3);
      flags = {"--queue", nats_->urls()};
    }
    if (GetParam() == "etcd") {
      etcd_ = std::make_unique<EtcdCluster>(3);
      etcd_->start_all();
      ASSERT_FALSE(HasFatalFailure());
      flags = {"--store", etcd_->url()};
    }
    island_.start_gateways(kGateways, flags);
    token_ = island_.token(security::Role::admin);
    ASSERT_TRUE(eventually([&] { return !leader().empty(); }, 15s)) << island_.gateway_log(0);
    for (int w = 0; w < kWorkers; ++w) island_.start_worker(w, kGateways, 8);
  }

  std::optional<json::value> status_of(int gateway) {
    net::HttpRequest request;
    request.target = "/api/status";
    auto result = net::fetch(island_.gateway(gateway), request, 1s);
    if (!result.ok() || result.response->status != 200) return std::nullopt;
    json::error_code ec;
    auto body = json::parse(result.response->body, ec);
    if (ec) return std::nullopt;
    return body;
  }

  // The store leader's address as gateway 0..2 that answers sees it.
  std::string leader() {
    for (int g = 0; g < kGateways; ++g) {
      if (dead_.contains(g)) continue;
      if (auto status = status_of(g)) {
        const auto* address = status->at("store").as_object().if_contains("leader_address");
        if (address != nullptr && address->is_string() && !address->as_string().empty()) {
          return std::string(address->as_string());
        }
      }
    }
    return {};
  }

  net::ClientResult call(int gateway, std::string method, std::string target, std::string body) {
    net::HttpRequest request;
    request.method = std::move(method);
    request.target = std::move(target);
    request.body = std::move(body);
    request.headers.emplace_back("Authorization", "Bearer " + token_);
    return net::fetch(island_.gateway(gateway), request, 10s);
  }

  // Submits task `index` until a gateway acknowledges it; the idempotency key makes the
  // retries of a submission whose answer was lost name the same task.
  bool submit(int index, std::atomic<int>& retries) {
    const json::object body{{"type", "sum"},
                            {"params", {{"values", json::array{index, 1}}}},
                            {"idempotency_key", "chaos-" + std::to_string(index)}};
    const auto give_up = Clock::now() + 60s;
    for (int attempt = 0; Clock::now() < give_up; ++attempt) {
      const int gateway = (index + attempt) % kGateways;
      if (dead_.contains(gateway)) continue;
      auto result = call(gateway, "POST", "/api/tasks", json::serialize(body));
      if (result.ok() && (result.response->status == 202 || result.response->status == 200)) {
        return true;
      }
      ++retries;
      std::this_thread::sleep_for(20ms);  // a retry's backoff, not a synchronisation
    }
    return false;
  }

  std::unique_ptr<NatsCluster> nats_;  // before the island: its gateways go first
  std::unique_ptr<EtcdCluster> etcd_;  // on etcd; outlives the gateways that use it
  Island island_;
  std::string token_;
  std::set<int> dead_;
};

TEST_P(TaskChaos, KilledWorkerAndLeaderLoseNoTaskAndRecordEachResultOnce) {
  // The events feed, from a gateway that is not the leader (the one to be killed).
  const std::string first_leader = leader();
  int watcher = 0;
  while (island_.gateway(watcher).str() == first_leader) ++watcher;
  std::mutex done_mutex;
  std::map<std::string, int> done_events;
  std::atomic<bool> stop_watching{false};
  std::thread watch([&] {
    net::HttpRequest request;
    request.target = "/api/events?topics=tasks";
    request.headers.emplace_back("Authorization", "Bearer " + token_);
    net::StreamOptions options;
    net::SseParser parser;
    std::string last_id;
    while (!stop_watching) {
      if (!last_id.empty()) {
        request.headers.erase(
            std::remove_if(request.headers.begin(), request.headers.end(),
                           [](const auto& h) { return h.first == "Last-Event-ID"; }),
            request.headers.end());
        request.headers.emplace_back("Last-Event-ID", last_id);
      }
      net::fetch_stream(island_.gateway(watcher), request, options, [&](std::string_view bytes) {
        parser.feed(bytes, [&](const net::SseEvent& event) {
          last_id = event.id;
          if (event.type != "task") return true;
          json::error_code ec;
          auto record = json::parse(event.data, ec);
          if (!ec && record.at("status") == "done") {
            std::lock_guard lock(done_mutex);
            ++done_events[std::string(record.at("id").as_string())];
          }
          return true;
        });
        return !stop_watching.load();
      });
    }
  });

  std::atomic<int> next{0}, accepted{0}, retries{0}, failed{0};
  std::vector<std::thread> submitters;
  for (int s = 0; s < kSubmitters; ++s) {
    submitters.emplace_back([&] {
      for (int index = next++; index < kTasks; index = next++) {
        (submit(index, retries) ? accepted : failed)++;
      }
    });
  }
  // A worker dies with tasks leased; later the queue's own gateway dies.
  ASSERT_TRUE(eventually([&] { return accepted >= kTasks * 3 / 10; }, 120s));
  island_.worker_process(0).signal(SIGKILL);
  if (nats_) {
    // A NATS server dies too: the stream and its consumer (R3) keep a quorum of two.
    ASSERT_TRUE(eventually([&] { return accepted >= kTasks * 45 / 100; }, 120s));
    nats_->kill(1);
  }
  std::optional<int> etcd_killed;
  if (etcd_) {
    ASSERT_TRUE(eventually([&] { return accepted >= kTasks * 45 / 100; }, 120s));
    etcd_killed = etcd_->wait_for_leader(30s);
    ASSERT_TRUE(etcd_killed) << "etcd has no leader to kill";
    etcd_->kill(*etcd_killed);
  }
  ASSERT_TRUE(eventually([&] { return accepted >= kTasks * 6 / 10; }, 120s));
  const std::string killed_leader = leader();
  int killed = -1;
  for (int g = 0; g < kGateways; ++g) {
    if (island_.gateway(g).str() == killed_leader) killed = g;
  }
  ASSERT_GE(killed, 0) << "no leader to kill: " << killed_leader;
  const auto killed_at = Clock::now();
  island_.gateway_process(killed).signal(SIGKILL);
  dead_.insert(killed);
  if (etcd_killed) etcd_->start(*etcd_killed);
  for (auto& thread : submitters) thread.join();
  EXPECT_EQ(failed.load(), 0);
  EXPECT_EQ(accepted.load(), kTasks);

  int live = 0;
  while (dead_.contains(live)) ++live;
  std::size_t done = 0;
  const bool all_done = eventually(
      [&] {
        auto status = status_of(live);
        if (!status) return false;
        done = status->at("tasks").at("depth").at("done").to_number<std::size_t>();
        return done >= static_cast<std::size_t>(kTasks);
      },
      180s);
  EXPECT_TRUE(all_done) << done << " of " << kTasks << " done";
  report("queue settled after the leader's kill (s)",
         std::to_string(std::chrono::duration<double>(Clock::now() - killed_at).count()));

  // Every task once, done, with its own sum; repeated executions counted.
  std::set<std::string> keys;
  std::size_t records = 0, repeated = 0, expired_attempts = 0;
  std::string after;
  for (int page = 0; page < 100; ++page) {
    auto result =
        call(live, "GET", "/api/tasks?limit=1000" + (after.empty() ? "" : "&after=" + after), "");
    ASSERT_TRUE(result.ok() && result.response->status == 200);
    auto body = json::parse(result.response->body).as_object();
    for (const auto& item : body.at("tasks").as_array()) {
      const auto& task = item.as_object();
      ++records;
      keys.insert(std::string(task.at("idempotency_key").as_string()));
      EXPECT_EQ(task.at("status"), "done") << json::serialize(task);
      const auto first = task.at("params").at("values").at(0).to_number<std::int64_t>();
      EXPECT_EQ(task.at("result").at("sum").to_number<std::int64_t>(), first + 1);
      if (task.at("attempts").to_number<int>() > 1) ++repeated;
      for (const auto& error : task.at("errors").as_array()) {
        EXPECT_EQ(error.at("kind"), "lease_expired") << json::serialize(task);
        ++expired_attempts;
      }
    }
    if (body.at("next").is_null()) break;
    after = std::string(body.at("next").as_string());
  }
  EXPECT_EQ(records, static_cast<std::size_t>(kTasks));
  EXPECT_EQ(keys.size(), static_cast<std::size_t>(kTasks));

  // The feed saw each result recorded exactly once.
  const bool feed_complete = eventually(
      [&] {
        std::lock_guard lock(done_mutex);
        return done_events.size() >= static_cast<std::size_t>(kTasks);
      },
      30s);
  stop_watching = true;
  watch.join();
  EXPECT_TRUE(feed_complete);
  std::size_t twice = 0;
  for (const auto& [id, count] : done_events) twice += count > 1 ? 1 : 0;
  EXPECT_EQ(twice, 0u);

  report("submissions retried after a failure", std::to_string(retries.load()));
  report("tasks executed more than once (killed worker's leases)", std::to_string(repeated));
  report("attempts ended by an expired lease", std::to_string(expired_attempts));
}

INSTANTIATE_TEST_SUITE_P(Backends, TaskChaos, ::testing::Values("embedded", "nats", "etcd"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace isla::testing
