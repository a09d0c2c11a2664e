// A partitioned catalogue (issue 14) on real processes: gateways spread the catalogue over
// piece servers by consistent hashing, two owners per figure; a piece server that joins or
// leaves moves only its share, and figure requests keep succeeding while figures move.
#include <gtest/gtest.h>

#include <algorithm>
#include <csignal>
#include <iostream>
#include <regex>

#include "support/load.hpp"
#include "support/partitioned_island.hpp"
#include "support/raw_http.hpp"
#include "support/run_command.hpp"

namespace isla::testing {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;

constexpr std::size_t kReplicas = 2;
constexpr int kGateways = 3;
constexpr auto kPatience = 30s;  // a loaded 2-core machine; settling takes ~1 s when idle

std::vector<std::string> catalogue_names() {
  std::vector<std::string> out;
  for (const auto& entry : std::filesystem::directory_iterator(catalog_dir())) {
    if (entry.path().extension() == ".toml") out.push_back(entry.path().stem().string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

class PartitionedIsland : public ::testing::Test {
 protected:
  void SetUp() override {
    // Three gateways (the store wants an odd number of voters); piece servers announce to all.
    start_partitioning_gateways(island_, kGateways, static_cast<int>(kReplicas));
    for (int i = 0; i < 4; ++i) members_.insert(start_partitioned_pieces(island_, i).str());
    island_.wait_for_servers(4);
    ASSERT_TRUE(settles()) << describe();
  }

  // Waits until every gateway sees every figure held by exactly its owners among members_.
  bool settles() {
    return eventually(
        [&] {
          for (int gateway = 0; gateway < kGateways; ++gateway) {
            if (!placement_settled(figure_placement(island_, gateway), members_, kReplicas)) {
              return false;
            }
          }
          return true;
        },
        kPatience);
  }

  std::string describe() {
    std::string out;
    for (const auto& [figure, where] : figure_placement(island_, 0)) {
      out += figure + ": servers";
      for (const auto& server : where.servers) out += " " + server;
      out += " owners";
      for (const auto& owner : where.owners) out += " " + owner;
      out += "\n";
    }
    return out + island_.gateway_log(0);
  }

  Island island_;
  std::set<std::string> members_;
};

TEST_F(PartitionedIsland, EachFigureIsHeldByItsTwoOwnersAndApiFiguresShowsThem) {
  const auto placement = figure_placement(island_, 0);
  const auto names = catalogue_names();
  ASSERT_EQ(placement.size(), names.size());
  std::map<std::string, std::set<std::string>> share;  // server -> figures it owns
  for (const auto& [figure, where] : placement) {
    EXPECT_EQ(where.owners.size(), kReplicas) << figure;
    for (const auto& owner : where.owners) share[owner].insert(figure);
  }
  // The gateways agree on the owners: they compute them from the same members.
  for (int gateway = 1; gateway < kGateways; ++gateway) {
    const auto other = figure_placement(island_, gateway);
    for (const auto& [figure, where] : placement) EXPECT_EQ(other.at(figure).owners, where.owners);
  }
  // Each piece server holds exactly its share (its own GET /api/figures).
  for (int i = 0; i < 4; ++i) {
    const auto address = island_.pieces_address(i);
    net::HttpRequest request;
    request.target = "/api/figures";
    auto answer = net::fetch(address, request, 5s);
    ASSERT_TRUE(answer.ok()) << answer.message;
    std::set<std::string> held;
    const auto body = json::parse(answer.response->body);
    for (const auto& figure : body.at("figures").as_array()) {
      held.insert(std::string(figure.at("name").as_string()));
    }
    EXPECT_EQ(held, share[address.str()]) << address.str();
  }
  // Backward compatible: every entry still has name, servers and island for the dashboard.
  const auto body = island_.get_json("/api/figures");
  for (const auto& figure : body.at("figures").as_array()) {
    EXPECT_TRUE(figure.as_object().contains("servers"));
    EXPECT_EQ(figure.at("island").as_string(), "local");
  }
  // And every figure is served.
  for (const auto& name : names) {
    auto answer = island_.get("/api/figures/" + name);
    ASSERT_TRUE(answer.ok()) << answer.message;
    EXPECT_EQ(answer.response->status, 200) << name << ": " << answer.response->body;
  }
}

TEST_F(PartitionedIsland, AJoinAndALeaveUnderLoadMoveOnlyTheirShareAndLoseNoRequest) {
  const auto before = figure_placement(island_, 0);
  SteadyLoad load0(island_.gateway(0), catalogue_names(), 3);
  SteadyLoad load1(island_.gateway(1), catalogue_names(), 3);
  ASSERT_TRUE(load0.wait_for_more(200, 30s));
  ASSERT_TRUE(load1.wait_for_more(200, 30s));

  // Piece server 4 joins while piece server 0 leaves (Ctrl+C).
  const auto joined = start_partitioned_pieces(island_, 4).str();
  const auto leaving = island_.pieces_address(0).str();
  island_.pieces_process(0).signal(SIGINT);
  members_.insert(joined);
  members_.erase(leaving);
  const bool settled = settles();
  ASSERT_TRUE(load0.wait_for_more(300, 30s));
  ASSERT_TRUE(load1.wait_for_more(300, 30s));
  load0.stop();
  load1.stop();
  EXPECT_TRUE(settled) << describe();
  EXPECT_EQ(island_.pieces_process(0).wait_for(15s), std::optional<int>(0));

  for (const auto* load : {&load0, &load1}) {
    const auto failures = load->failures();
    EXPECT_TRUE(failures.empty()) << failures.size() << " failed, first: " << failures.front();
  }
  // Only figures that the leaver owned or the newcomer owns changed owners.
  const auto after = figure_placement(island_, 0);
  int moved = 0;
  for (const auto& [figure, where] : after) {
    const auto& was = before.at(figure).owners;
    if (was == where.owners) continue;
    ++moved;
    EXPECT_TRUE(was.contains(leaving) || where.owners.contains(joined)) << figure;
  }
  EXPECT_GT(moved, 0);
  std::cout << "moved " << moved << " of " << after.size() << " figures\n";
}

// `isla up --pieces 12` spreads the catalogue over twelve piece servers and prints each one's
// share; /api/figures names each figure's two owners.
TEST(PartitionedUp, IslaUpWithTwelvePieceServersPrintsEachOnesFigures) {
  Island island;  // for its unique subnet and directory only
  const auto subnet = island.gateway().host.substr(0, island.gateway().host.rfind('.'));
  const auto log = (island.dir() / "up.log").string();
  auto up = core::ChildProcess::spawn(
      {ISLA_BINARY, "up", "--pieces", "12", "--gateway", island.gateway().str(), "--gateways", "1",
       "--balancers", "0", "--pieces-subnet", subnet, "--workers", "0", "--catalog",
       catalog_dir().string(), "--data-dir", (island.dir() / "up").string()},
      log);
  ASSERT_TRUE(eventually([&] { return read_file(log).find("is up") != std::string::npos; }, 60s))
      << read_file(log);
  const auto output = read_file(log);
  const std::regex line(R"(pieces +(\S+) +(\d+) figures?)");
  int servers = 0;
  int copies = 0;
  for (auto it = std::sregex_iterator(output.begin(), output.end(), line);
       it != std::sregex_iterator(); ++it) {
    ++servers;
    copies += std::stoi((*it)[2]);
  }
  EXPECT_EQ(servers, 12) << output;
  EXPECT_EQ(copies, static_cast<int>(kReplicas * catalogue_names().size())) << output;
  const auto placement = figure_placement(island, 0);
  std::set<std::string> members;
  for (int i = 0; i < 12; ++i) members.insert(subnet + "." + std::to_string(11 + i) + ":1233");
  EXPECT_TRUE(placement_settled(placement, members, kReplicas));
  up.signal(SIGINT);
  EXPECT_EQ(up.wait_for(60s), std::optional<int>(0)) << read_file(log);
}

TEST(PartitionedFlags, PartitionedAndFiguresExcludeEachOtherAndABadCatalogueIsRefused) {
  const auto pieces = run_isla({"pieces", "--partitioned", "--figures", "giraffe", "--listen",
                                unique_subnet() + ".11:1233", "--insecure"});
  EXPECT_NE(pieces.exit_code, 0) << pieces.output;
  EXPECT_NE(pieces.output.find("--partitioned"), std::string::npos) << pieces.output;
  const auto gateway = run_isla({"gateway", "--partition-catalog", "/nonexistent", "--listen",
                                 unique_subnet() + ".1:5235", "--insecure"});
  EXPECT_NE(gateway.exit_code, 0) << gateway.output;
  EXPECT_NE(gateway.output.find("--partition-catalog"), std::string::npos) << gateway.output;
  const auto replicas = run_isla({"gateway", "--replicas", "0"});
  EXPECT_NE(replicas.exit_code, 0) << replicas.output;
}

}  // namespace
}  // namespace isla::testing
