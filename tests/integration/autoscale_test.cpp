// The autoscaler on real processes: three gateways with --autoscale; the one that leads the
// store starts `isla worker` processes. Under a burst the workers grow from the minimum (1)
// to what the load needs, soon after the high mark is crossed; once idle they return to the
// minimum. Times are reported; only generous bounds are asserted.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <iostream>

#include "support/island.hpp"
#include "support/measured.hpp"
#include "support/raw_http.hpp"

namespace isla::testing {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

constexpr int kGateways = 3;
constexpr int kMaxWorkers = 3;

class Autoscale : public ::testing::Test {
 protected:
  void SetUp() override {
    island_.start_gateways(
        kGateways, {"--autoscale", "--min-workers", "1", "--max-workers",
                    std::to_string(kMaxWorkers), "--worker-concurrency", "2", "--scale-high-for-ms",
                    "1000", "--scale-low-for-ms", "3000", "--scale-down-cooldown-ms", "500"});
    token_ = island_.token(security::Role::write);
  }

  // The tasks section of the first gateway's status that answers.
  std::optional<json::object> tasks() {
    for (int g = 0; g < kGateways; ++g) {
      net::HttpRequest request;
      request.target = "/api/status";
      auto result = net::fetch(island_.gateway(g), request, 1s);
      if (!result.ok() || result.response->status != 200) continue;
      json::error_code ec;
      auto body = json::parse(result.response->body, ec);
      if (!ec) return body.at("tasks").as_object();
    }
    return std::nullopt;
  }

  std::size_t live_workers() {
    auto status = tasks();
    if (!status) return 0;
    std::size_t count = 0;
    for (const auto& worker : status->at("workers").as_array()) {
      if (!worker.at("draining").as_bool() && !worker.at("drain_requested").as_bool()) ++count;
    }
    return count;
  }

  bool submit(int gateway, const std::string& body) {
    net::HttpRequest request;
    request.method = "POST";
    request.target = "/api/tasks";
    request.body = body;
    request.headers.emplace_back("Authorization", "Bearer " + token_);
    auto result = net::fetch(island_.gateway(gateway), request, 10s);
    return result.ok() && result.response->status == 202;
  }

  Island island_;
  std::string token_;
};

TEST_F(Autoscale, ABurstGrowsTheWorkersAndIdlenessReturnsThemToTheMinimum) {
  ASSERT_TRUE(eventually([&] { return live_workers() == 1; }, 30s))
      << "the leader did not start its first worker:\n"
      << island_.gateway_log(0) << island_.gateway_log(1) << island_.gateway_log(2);

  // 40 tasks of 400 ms on 2 slots: far above the high mark until more workers come.
  const auto burst = Clock::now();
  for (int i = 0; i < 40; ++i) {
    ASSERT_TRUE(eventually(
        [&] { return submit(i % kGateways, R"({"type":"sleep","params":{"ms":400}})"); }, 10s));
  }
  json::object decision;
  ASSERT_TRUE(eventually(
      [&] {
        auto status = tasks();
        if (!status) return false;
        for (const auto& item : status->at("scaling").as_array()) {
          const auto& d = item.as_object();
          if (d.at("decision") == "scale_up" &&
              d.at("numbers").at("workers").to_number<double>() >= 1) {
            decision = d;
            return true;
          }
        }
        return false;
      },
      20s))
      << "no scale-up caused by the burst";
  const auto decided = Clock::now();
  const auto desired =
      static_cast<std::size_t>(decision.at("numbers").at("desired").to_number<double>());
  EXPECT_GT(desired, 1u) << json::serialize(decision);
  EXPECT_LE(desired, static_cast<std::size_t>(kMaxWorkers));
  EXPECT_FALSE(decision.at("reason").as_string().empty());
  ASSERT_TRUE(eventually([&] { return live_workers() >= desired; }, 10s))
      << "the started workers did not come up: " << json::serialize(decision);
  const auto grown = Clock::now();
  report("burst to scale-up decision (ms)",
         std::to_string(
             std::chrono::duration_cast<std::chrono::milliseconds>(decided - burst).count()));
  report("decision to workers heartbeating (ms)",
         std::to_string(
             std::chrono::duration_cast<std::chrono::milliseconds>(grown - decided).count()));

  // The burst drains; idle for the low window, the pool shrinks one worker at a time.
  ASSERT_TRUE(eventually(
      [&] {
        auto status = tasks();
        return status && status->at("depth").at("done").to_number<int>() == 40;
      },
      60s));
  const auto idle = Clock::now();
  ASSERT_TRUE(eventually([&] { return live_workers() == 1; }, 30s))
      << "the workers did not return to the minimum";
  report("idle to back at the minimum (ms)",
         std::to_string(
             std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - idle).count()));
  auto status = tasks();
  ASSERT_TRUE(status);
  bool drained = false;
  for (const auto& item : status->at("scaling").as_array()) {
    drained = drained || item.at("decision") == "scale_down";
  }
  EXPECT_TRUE(drained) << "no scale_down decision recorded";
}

}  // namespace
}  // namespace isla::testing
