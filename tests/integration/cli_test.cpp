// The people's interface: tables, --json, clear errors and exit codes.
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <unistd.h>
#include <filesystem>
#include <fstream>
#include "support/run_command.hpp"
#include "support/shared_island.hpp"

namespace isla::testing {
namespace {

class Cli : public SharedIslandTest {
 protected:
  static void SetUpTestSuite() { start_island({"giraffe", "black-sheep"}); }
  static std::string gateway() { return island_->gateway().str(); }
};

TEST_F(Cli, FiguresPrintsAnAlignedTable) {
  auto result = run_isla({"figures", "--gateway", gateway()});
  EXPECT_EQ(result.exit_code, 0) << result.output;
  EXPECT_EQ(result.output.rfind("FIGURE       REPLICAS  SERVERS", 0), 0u) << result.output;
  EXPECT_NE(result.output.find("black-sheep  1         " + island_->pieces_address(0).str()),
            std::string::npos)
      << result.output;
}

TEST_F(Cli, FiguresJsonIsTheGatewaysJson) {
  auto result = run_isla({"figures", "--json", "--gateway", gateway()});
  ASSERT_EQ(result.exit_code, 0) << result.output;
  auto body = boost::json::parse(result.output);
  EXPECT_EQ(body.at("figures").as_array().size(), 2u);
}

TEST_F(Cli, FigureShowsItsPieces) {
  auto result = run_isla({"figure", "giraffe", "--gateway", gateway()});
  ASSERT_EQ(result.exit_code, 0) << result.output;
  EXPECT_EQ(result.output.rfind("giraffe (Giraffe): ", 0), 0u) << result.output;
  EXPECT_NE(result.output.find("PIECE  DESCRIPTION"), std::string::npos) << result.output;
}

TEST_F(Cli, StatusListsThePieceServer) {
  auto result = run_isla({"status", "--gateway", gateway()});
  ASSERT_EQ(result.exit_code, 0) << result.output;
  EXPECT_NE(result.output.find("gateway " + gateway()), std::string::npos) << result.output;
  EXPECT_NE(result.output.find(island_->pieces_address(0).str() + "  alive"), std::string::npos)
      << result.output;
}

TEST_F(Cli, UnknownFigureExitsOneWithTheGatewaysMessage) {
  auto result = run_isla({"figure", "unicorn", "--gateway", gateway()});
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_NE(result.output.find("unknown figure 'unicorn' (HTTP 404"), std::string::npos)
      << result.output;
}

TEST_F(Cli, InvalidFigureNameExitsTwoWithoutAsking) {
  auto result = run_isla({"figure", "../etc", "--gateway", gateway()});
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_NE(result.output.find("is not a figure name"), std::string::npos) << result.output;
}

TEST_F(Cli, UnreachableGatewayExitsThreeAndSaysWhatToDo) {
  auto result = run_isla({"figures", "--gateway", "127.0.0.1:1", "--timeout-ms", "2000"});
  EXPECT_EQ(result.exit_code, 3);
  EXPECT_NE(result.output.find("cannot reach gateway 127.0.0.1:1"), std::string::npos)
      << result.output;
  EXPECT_NE(result.output.find("make up"), std::string::npos);
}

TEST_F(Cli, BadFlagsExitNonZeroWithAMessage) {
  auto result = run_isla({"pieces", "--listen", "nonsense:port"});
  EXPECT_NE(result.exit_code, 0);
  EXPECT_NE(result.output.find("--listen"), std::string::npos) << result.output;
  auto catalog = run_isla({"pieces", "--listen", "127.0.0.1:1", "--catalog", "/nonexistent"});
  EXPECT_NE(catalog.exit_code, 0);
  EXPECT_NE(catalog.output.find("/nonexistent: not a directory"), std::string::npos)
      << catalog.output;
}

// A gateway never mixes its store with another island's data or other voters: it refuses to
// start, says what differs and how to proceed.
TEST_F(Cli, GatewayRefusesStoreDataOfAnotherIslandOrOtherVoters) {
  const auto dir =
      std::filesystem::temp_directory_path() / ("isla-identity-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir / "raft");
  // An address of its own: the refusal comes before the gateway serves, but after it binds.
  const std::string listen = "127.0.77." + std::to_string(10 + ::getpid() % 200) + ":5235";
  std::ofstream(dir / "raft" / "cluster.json")
      << R"({"island":"north","cluster_id":"00000000000000ab","voters":[")" << listen << R"("]})";
  auto island = run_isla({"gateway", "--listen", listen, "--island", "south", "--data-dir",
                          dir.string(), "--store-voters", listen});
  EXPECT_EQ(island.exit_code, 2);
  EXPECT_NE(island.output.find("belongs to island 'north'"), std::string::npos) << island.output;
  auto voters =
      run_isla({"gateway", "--listen", listen, "--island", "north", "--data-dir", dir.string(),
                "--store-voters", listen + ",127.0.0.2:5235,127.0.0.3:5235"});
  EXPECT_EQ(voters.exit_code, 2);
  EXPECT_NE(voters.output.find("--store-voters " + listen), std::string::npos) << voters.output;
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace isla::testing
