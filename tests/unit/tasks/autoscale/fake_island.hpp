#pragma once
// Test doubles for the autoscaler: a launcher that records its calls, and a small island
// around it whose workers heartbeat a fixed time after they are started and take long tasks
// up to their concurrency. Time is whatever the test passes in.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "tasks/autoscale/launcher.hpp"
#include "tasks/autoscale/policy.hpp"
#include "tasks/autoscale/scaler_driver.hpp"

namespace isla::tasks::autoscale::fakes {

using namespace std::chrono_literals;

class FakeLauncher final : public Launcher {
 public:
  std::vector<std::string> start(int count) override {
    start_calls.push_back(count);
    std::vector<std::string> ids;
    for (int i = 0; i < count && i < capacity; ++i) {
      const auto id = "fake-" + std::to_string(next_number++);
      alive.insert(id);
      ids.push_back(id);
    }
    capacity -= static_cast<int>(ids.size());
    error = static_cast<int>(ids.size()) < count ? refusal : "";
    return ids;
  }
  bool stop(const std::string& worker_id) override {
    stop_calls.push_back(worker_id);
    return alive.erase(worker_id) > 0;  // the worker is idle, so it leaves at once
  }
  std::vector<std::string> running() override { return {alive.begin(), alive.end()}; }
  std::string last_error() const override { return error; }

  int started_total() const {
    int total = 0;
    for (int count : start_calls) total += count;
    return total;
  }

  std::vector<int> start_calls;
  std::vector<std::string> stop_calls;
  std::set<std::string> alive;
  int capacity = 1'000'000;  // workers it can still start; fewer is a failure
  std::string refusal = "no capacity left on this host";
  std::string error;
  int next_number = 1;
};

// Every decision reported must carry its reason and the numbers behind it, as JSON that
// survives a round trip through text (what the event log and SSE will send).
inline void expect_reported_with_numbers(const Decision& decision) {
  const auto json = boost::json::parse(boost::json::serialize(decision.to_json())).as_object();
  EXPECT_EQ(json.at("decision").as_string(), to_string(decision.kind));
  ASSERT_TRUE(json.at("reason").is_string());
  EXPECT_FALSE(json.at("reason").as_string().empty());
  const auto& numbers = json.at("numbers").as_object();
  for (const char* key : {"utilisation", "demand", "busy", "slots", "ready", "running",
                          "oldest_wait_ms", "workers", "starting", "draining", "desired",
                          "min_workers", "max_workers", "high_for_ms", "low_for_ms"}) {
    EXPECT_TRUE(numbers.contains(key)) << key << " missing from " << json;
  }
  EXPECT_EQ(numbers.at("workers").to_number<int>(), decision.numbers.workers);
  EXPECT_EQ(numbers.at("ready").to_number<int>(), decision.numbers.ready);
  EXPECT_EQ(numbers.at("desired").to_number<int>(), decision.numbers.desired);
  if (decision.kind == DecisionKind::scale_up) {
    EXPECT_EQ(json.at("count").to_number<int>(), decision.count);
    EXPECT_EQ(json.at("started").as_array().size(), decision.started.size());
  } else {
    EXPECT_EQ(json.at("worker").as_string(), decision.worker);
  }
}

struct FakeIsland {
  FakeLauncher launcher;
  std::vector<WorkerSample> others;  // started by someone else, heartbeating throughout
  std::map<std::string, Millis> launched_at;
  std::set<std::string> drain_requested;
  Millis boot{1'000};  // from start to first heartbeat
  int concurrency = 4;
  int tasks = 0;  // long tasks in the island, running or ready
  double oldest_wait_ms = 0;
  std::vector<Decision> reported;

  ScalerCallbacks callbacks() {
    return {.on_decision =
                [this](const Decision& decision) {
                  expect_reported_with_numbers(decision);
                  reported.push_back(decision);
                },
            .request_drain = [this](const std::string& id) { drain_requested.insert(id); }};
  }

  std::vector<WorkerSample> samples(Millis now) const {
    std::vector<WorkerSample> workers;
    for (const auto& other : others) {
      auto worker = other;
      worker.draining = drain_requested.contains(worker.id);
      workers.push_back(worker);
    }
    for (const auto& id : launcher.alive) {
      const auto at = launched_at.find(id);
      if (at != launched_at.end() && now - at->second >= boot) {
        workers.push_back({.id = id, .concurrency = concurrency, .busy = 0});
      }
    }
    int unassigned = tasks;
    for (auto& worker : workers) {
      worker.busy = worker.draining ? 0 : std::min(unassigned, worker.concurrency);
      unassigned -= worker.busy;
    }
    return workers;
  }

  QueueSample queue(Millis now) const {
    int running = 0;
    for (const auto& worker : samples(now)) running += worker.busy;
    const int ready = tasks - running;
    return {.ready = ready, .running = running, .oldest_wait_ms = ready > 0 ? oldest_wait_ms : 0};
  }

  int live_workers(Millis now) const { return static_cast<int>(samples(now).size()); }

  // One evaluation at `now`, as the gateway would run it.
  Decision tick(ScalerDriver& driver, Millis now) {
    auto decision = driver.evaluate(now, samples(now), queue(now));
    for (const auto& id : launcher.alive) launched_at.emplace(id, now);
    // Drained workers of others leave (they are idle: the island only drains idle ones).
    std::erase_if(others, [&](const auto& worker) { return drain_requested.contains(worker.id); });
    return decision;
  }

  // Evaluations every `step` in [from, to).
  void run(ScalerDriver& driver, Millis from, Millis to, Millis step = 100ms) {
    for (auto now = from; now < to; now += step) tick(driver, now);
  }
};

}  // namespace isla::tasks::autoscale::fakes
