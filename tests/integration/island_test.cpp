// One gateway and three piece servers, every figure on two of them (ARCHITECTURE.md §4).
#include <gtest/gtest.h>
#include <signal.h>

#include "pieces/api.hpp"
#include "pieces/catalog.hpp"
#include "support/island.hpp"
#include "support/load.hpp"
#include "support/raw_http.hpp"

namespace isla::testing {
namespace {

using namespace std::chrono_literals;

class ThreeServerIsland : public ::testing::Test {
 protected:
  void SetUp() override {
    catalog_ = pieces::load_catalog(catalog_dir());
    assignment_.resize(3);
    for (std::size_t j = 0; j < catalog_.size(); ++j) {
      assignment_[j % 3].push_back(catalog_[j].name);
      assignment_[(j + 1) % 3].push_back(catalog_[j].name);
    }
    // One connection per piece server and gateway thread: figure requests that meet are
    // pipelined, so the failure tests below cover requests queued behind others too.
    island_.start_gateway({"--upstream-connections", "1"});
    for (int i = 0; i < 3; ++i) island_.start_pieces(i, assignment_[static_cast<std::size_t>(i)]);
    island_.wait_for_servers(3);
  }

  std::vector<std::string> all_figures() const {
    std::vector<std::string> names;
    for (const auto& figure : catalog_) names.push_back(figure.name);
    return names;
  }

  // Figure requests the gateway sent pipelined behind others, from its /metrics.
  double pipelined_upstream_requests() const {
    const std::string series = "isla_upstream_requests_total{connection=\"pipelined\"} ";
    const auto metrics = island_.get("/metrics");
    if (!metrics.ok()) return -1;
    const auto at = metrics.response->body.find(series);
    if (at == std::string::npos) return -1;
    return std::stod(metrics.response->body.substr(at + series.size()));
  }

  static constexpr int kClients = 8;
  std::vector<pieces::Figure> catalog_;
  std::vector<std::vector<std::string>> assignment_;
  Island island_;
};

TEST_F(ThreeServerIsland, EveryFigureIsAnsweredWithItsCataloguePieces) {
  for (const auto& figure : catalog_) {
    auto body = island_.get_json("/api/figures/" + figure.name);
    ASSERT_TRUE(body.is_object()) << figure.name;
    auto detail = boost::json::value_to<pieces::FigureDetail>(body);
    EXPECT_EQ(detail.name, figure.name);
    EXPECT_EQ(detail.title, figure.title);
    EXPECT_EQ(detail.pieces, figure.pieces) << figure.name;
    EXPECT_EQ(detail.island, "local");
    std::vector<std::string> holders;
    for (int i = 0; i < 3; ++i) {
      const auto& held = assignment_[static_cast<std::size_t>(i)];
      if (std::find(held.begin(), held.end(), figure.name) != held.end()) {
        holders.push_back(island_.pieces_address(i).str());
      }
    }
    EXPECT_NE(std::find(holders.begin(), holders.end(), detail.server), holders.end())
        << figure.name << " answered by " << detail.server << ", which does not hold it";
  }
}

TEST_F(ThreeServerIsland, FigureListShowsTwoLiveReplicasEach) {
  auto body = island_.get_json("/api/figures");
  const auto& figures = body.at("figures").as_array();
  ASSERT_EQ(figures.size(), catalog_.size());
  for (const auto& figure : figures) {
    EXPECT_EQ(figure.at("servers").as_array().size(), 2u) << figure.at("name").as_string();
    EXPECT_EQ(figure.at("island").as_string(), "local");
  }
}

TEST_F(ThreeServerIsland, KillNineUnderLoadLosesNoRequestAndLeavesStatusWithinOneSecond) {
  SteadyLoad load(island_.gateway(), all_figures(), kClients);
  ASSERT_TRUE(load.wait_for_more(200, 20s));
  const auto victim = island_.pieces_address(0).str();
  const auto killed_at = std::chrono::steady_clock::now();
  island_.pieces_process(0).signal(SIGKILL);
  ASSERT_TRUE(eventually(
      [&] {
        auto listed = island_.listed_servers();
        return std::find(listed.begin(), listed.end(), victim) == listed.end();
      },
      5s));
  const auto gone_after = std::chrono::steady_clock::now() - killed_at;
  ASSERT_TRUE(load.wait_for_more(300, 20s));
  load.stop();
  EXPECT_LE(gone_after, 1000ms)
      << "took " << std::chrono::duration_cast<std::chrono::milliseconds>(gone_after).count()
      << " ms";
  const auto failures = load.failures();
  EXPECT_TRUE(failures.empty()) << failures.size() << " failed, first: " << failures.front();
  EXPECT_GT(pipelined_upstream_requests(), 0) << "the load never pipelined; the test proves less";
}

TEST_F(ThreeServerIsland, SigintUnderLoadDrainsSaysByeAndExitsZero) {
  SteadyLoad load(island_.gateway(), all_figures(), kClients);
  ASSERT_TRUE(load.wait_for_more(200, 20s));
  island_.pieces_process(1).signal(SIGINT);
  const auto exit_code = island_.pieces_process(1).wait_for(15s);
  ASSERT_TRUE(load.wait_for_more(300, 20s));
  load.stop();
  ASSERT_TRUE(exit_code.has_value()) << "piece server did not exit within 15 s";
  EXPECT_EQ(*exit_code, 0);
  const auto address = island_.pieces_address(1).str();
  EXPECT_NE(island_.gateway_log().find("bye from piece server address=" + address),
            std::string::npos);
  EXPECT_NE(island_.pieces_log(1).find("bye sent"), std::string::npos);
  auto status = island_.get_json("/api/status");
  bool departed_by_bye = false;
  for (const auto& gone : status.at("departed").as_array()) {
    departed_by_bye |=
        gone.at("address").as_string() == address && gone.at("reason").as_string() == "bye";
  }
  EXPECT_TRUE(departed_by_bye);
  const auto failures = load.failures();
  EXPECT_TRUE(failures.empty()) << failures.size() << " failed, first: " << failures.front();
  EXPECT_GT(pipelined_upstream_requests(), 0) << "the load never pipelined; the test proves less";
}

TEST_F(ThreeServerIsland, GatewaySigintExitsZeroAfterSayingByeToPieceServers) {
  island_.gateway_process().signal(SIGINT);
  auto code = island_.gateway_process().wait_for(15s);
  ASSERT_TRUE(code.has_value());
  EXPECT_EQ(*code, 0);
  EXPECT_TRUE(eventually(
      [&] { return island_.pieces_log(0).find("gateway said bye") != std::string::npos; }, 5s));
}

class SmallIsland : public ::testing::Test {
 protected:
  Island island_;
};

TEST_F(SmallIsland, UnknownFigureIs404AndDeadReplicasAre503) {
  island_.start_gateway();
  island_.start_pieces(0, {"owl"});
  island_.wait_for_servers(1);
  auto unknown = island_.get("/api/figures/unicorn");
  ASSERT_TRUE(unknown.ok());
  EXPECT_EQ(unknown.response->status, 404);
  EXPECT_NE(unknown.response->body.find("unknown figure 'unicorn'"), std::string::npos);

  island_.pieces_process(0).signal(SIGKILL);
  ASSERT_TRUE(island_.pieces_process(0).wait_for(5s));
  auto dead = island_.get("/api/figures/owl");
  ASSERT_TRUE(dead.ok());
  EXPECT_EQ(dead.response->status, 503);
  EXPECT_NE(dead.response->body.find("\"error\""), std::string::npos);
}

TEST_F(SmallIsland, SlowPieceServerIs504AfterTheAttemptTimeout) {
  island_.start_gateway({"--attempt-timeout-ms", "300"});
  island_.start_pieces(0, {"owl"}, {"--response-delay-ms", "3000"});
  island_.wait_for_servers(1);
  const auto started = std::chrono::steady_clock::now();
  auto slow = island_.get("/api/figures/owl");
  ASSERT_TRUE(slow.ok());
  EXPECT_EQ(slow.response->status, 504);
  EXPECT_LT(std::chrono::steady_clock::now() - started, 2500ms);
}

TEST_F(SmallIsland, SlowReplicaIsRetriedOnAFastOne) {
  island_.start_gateway({"--attempt-timeout-ms", "300"});
  island_.start_pieces(0, {"owl"}, {"--response-delay-ms", "3000"});
  island_.start_pieces(1, {"owl"});
  island_.wait_for_servers(2);
  for (int i = 0; i < 10; ++i) {
    auto answer = island_.get("/api/figures/owl");
    ASSERT_TRUE(answer.ok());
    ASSERT_EQ(answer.response->status, 200) << answer.response->body;
    EXPECT_NE(answer.response->body.find(island_.pieces_address(1).str()), std::string::npos);
  }
}

TEST_F(SmallIsland, AnswersNameTheGatewaysIsland) {
  island_.start_gateway({"--island", "ucr"});
  island_.start_pieces(0, {"owl"});
  island_.wait_for_servers(1);
  // The piece server learns the island from the gateway's welcome.
  ASSERT_TRUE(eventually(
      [&] {
        auto body = island_.get_json("/api/figures/owl");
        return body.is_object() && body.at("island").as_string() == "ucr";
      },
      5s));
  EXPECT_EQ(island_.get_json("/api/figures").at("figures").at(0).at("island").as_string(), "ucr");
}

TEST_F(SmallIsland, PieceServerKeepsRetryingHelloUntilAGatewayAppears) {
  island_.start_pieces(0, {"owl"});
  ASSERT_TRUE(eventually(
      [&] {
        return read_file(island_.dir() / "pieces-0.log").find("listening") != std::string::npos;
      },
      10s));
  island_.start_gateway();
  island_.wait_for_servers(1);
  auto answer = island_.get("/api/figures/owl");
  ASSERT_TRUE(answer.ok());
  EXPECT_EQ(answer.response->status, 200);
}

}  // namespace
}  // namespace isla::testing
