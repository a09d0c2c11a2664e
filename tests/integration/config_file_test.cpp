// `isla gateway --config FILE` as an operator runs it: the file's values take effect, the
// environment and flags override it, a bad file stops the command with a clear message, and
// the island secret is never printed, wherever it came from.
#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>

#include <boost/json.hpp>
#include <fstream>

#include "support/island.hpp"
#include "support/raw_http.hpp"
#include "support/run_command.hpp"
#include "support/scope_exit.hpp"

namespace isla::testing {
namespace {

using namespace std::chrono_literals;

class ConfigFileTest : public ::testing::Test {
 protected:
  // Writes `text` as a config file in the island's directory.
  std::string write(const std::string& name, const std::string& text) {
    const auto path = island_.dir() / name;
    std::ofstream(path) << text;
    return path.string();
  }

  std::string status_island() {
    const auto status = island_.get_json("/api/status");
    const auto* island = status.is_object() ? status.as_object().if_contains("island") : nullptr;
    return island != nullptr && island->is_string() ? std::string(island->as_string()) : "";
  }

  Island island_;
};

TEST_F(ConfigFileTest, TheGatewayTakesItsFlagsFromTheFile) {
  const auto file = write("gateway.toml", "[gateway]\nisland = \"from-file\"\n");
  island_.start_gateway({"--config", file});
  EXPECT_EQ(status_island(), "from-file");
}

TEST_F(ConfigFileTest, TopLevelKeysReachEveryCommandThatHasTheFlag) {
  // One file for both roles: the island's name for the gateway, the gateway's address for
  // the piece server (its --gateway comes only from here).
  const auto file =
      write("island.toml", "island = \"shared\"\ngateway = \"" + island_.gateway().str() + "\"\n");
  island_.start_gateway({"--config", file});
  const auto address = island_.pieces_address(0);
  core::ChildProcess pieces =
      core::ChildProcess::spawn({ISLA_BINARY, "pieces", "--config", file, "--listen", address.str(),
                                 "--catalog", catalog_dir().string(), "--figures", "giraffe",
                                 "--data-dir", (island_.dir() / "pieces").string()},
                                (island_.dir() / "pieces.log").string());
  island_.wait_for_servers(1);
  EXPECT_EQ(status_island(), "shared");
}

TEST_F(ConfigFileTest, TheEnvironmentOverridesTheFile) {
  const auto file = write("gateway.toml", "[gateway]\nisland = \"from-file\"\n");
  ::setenv("ISLA_ISLAND", "from-env", 1);
  ScopeExit unset([] { ::unsetenv("ISLA_ISLAND"); });
  island_.start_gateway({"--config", file});
  EXPECT_EQ(status_island(), "from-env");
}

TEST_F(ConfigFileTest, AFlagOverridesTheEnvironmentAndTheFile) {
  const auto file = write("gateway.toml", "[gateway]\nisland = \"from-file\"\n");
  ::setenv("ISLA_ISLAND", "from-env", 1);
  ScopeExit unset([] { ::unsetenv("ISLA_ISLAND"); });
  island_.start_gateway({"--config", file, "--island", "from-flag"});
  EXPECT_EQ(status_island(), "from-flag");
}

TEST_F(ConfigFileTest, ABadFileStopsTheCommandWithExitTwoNamingTheFileAndKey) {
  const auto gateway = island_.gateway().str();
  const auto typo = write("typo.toml", "[gateway]\nisland = \"x\"\nislnd = \"y\"\n");
  auto result = run_isla({"gateway", "--listen", gateway, "--config", typo});
  EXPECT_EQ(result.exit_code, 2) << result.output;
  EXPECT_NE(result.output.find(typo + ":3: [gateway] islnd: unknown key"), std::string::npos)
      << result.output;

  const auto wrong = write("wrong.toml", "[gateway]\nthreads = \"four\"\n");
  result = run_isla({"gateway", "--listen", gateway, "--config", wrong});
  EXPECT_EQ(result.exit_code, 2) << result.output;
  EXPECT_NE(result.output.find("[gateway] threads: expected a non-negative integer, got string"),
            std::string::npos)
      << result.output;

  result = run_isla(
      {"gateway", "--listen", gateway, "--config", (island_.dir() / "none.toml").string()});
  EXPECT_EQ(result.exit_code, 2) << result.output;
  EXPECT_NE(result.output.find("none.toml"), std::string::npos) << result.output;
  EXPECT_FALSE(island_.get("/api/status", 200ms).ok()) << "a gateway started regardless";
}

// `isla up --config FILE` passes the file on: its nodes log at the file's level.
TEST_F(ConfigFileTest, IslaUpPassesTheFileToItsNodes) {
  const auto file = write("up.toml", "log-level = \"warn\"\n[up]\npieces = 1\ngateways = 1\n");
  const auto subnet = island_.gateway().host.substr(0, island_.gateway().host.rfind('.'));
  const auto log = island_.dir() / "up.log";
  auto up = core::ChildProcess::spawn(
      {ISLA_BINARY, "up", "--config", file, "--gateway", island_.gateway().str(), "--pieces-subnet",
       subnet, "--catalog", catalog_dir().string(), "--data-dir", (island_.dir() / "up").string()},
      log.string());
  EXPECT_TRUE(eventually([&] { return read_file(log).find("is up") != std::string::npos; }, 20s))
      << read_file(log);
  EXPECT_EQ(island_.listed_servers().size(), 1u);  // [up] pieces = 1
  up.signal(SIGINT);
  EXPECT_EQ(up.wait_for(30s), std::optional<int>(0)) << read_file(log);
  const auto output = read_file(log);
  // At warn, neither node says that it listens (an info line).
  EXPECT_EQ(output.find("listening"), std::string::npos) << output;
  EXPECT_NE(output.find("stopped gateway"), std::string::npos) << output;
}

// The secret reaches both roles (the piece server's signed datagrams are accepted), and
// appears in none of what they print or serve, even at log level debug.
TEST_F(ConfigFileTest, TheSecretIsNeverPrinted) {
  const std::string secret = "s3cret-7f1c2a9be04d";
  const auto file = write("secret.toml", "log-level = \"debug\"\nsecret = \"" + secret + "\"\n");
  island_.start_gateway({"--config", file});
  island_.start_pieces(0, {"giraffe"}, {"--config", file});
  island_.wait_for_servers(1);
  // The gateway has the file's secret: a piece server without it is turned away.
  island_.start_pieces(1, {"owl"});
  EXPECT_TRUE(eventually(
      [&] {
        auto metrics = island_.get("/metrics");
        return metrics.ok() &&
               metrics.response->body.find("reason=\"bad_signature\"") != std::string::npos;
      },
      10s));
  EXPECT_EQ(island_.listed_servers().size(), 1u);

  for (const auto* target : {"/api/status", "/metrics", "/api/figures", "/api/figures/giraffe"}) {
    auto answer = island_.get(target);
    ASSERT_TRUE(answer.ok()) << target << ": " << answer.message;
    EXPECT_EQ(answer.response->body.find(secret), std::string::npos) << target;
  }
  for (const auto& command : {std::vector<std::string>{"status", "--json"},
                              std::vector<std::string>{"gateway", "--help"}}) {
    auto args = command;
    args.insert(args.end(), {"--config", file});
    if (command.front() == "status")
      args.insert(args.end(), {"--gateway", island_.gateway().str()});
    const auto result = run_isla(args);
    EXPECT_EQ(result.exit_code, 0) << result.output;
    EXPECT_EQ(result.output.find(secret), std::string::npos) << result.output;
  }

  const auto typo = run_isla({"gateway", "--secrt", secret});
  EXPECT_EQ(typo.exit_code, 2) << typo.output;
  EXPECT_EQ(typo.output.find(secret), std::string::npos) << typo.output;

  // Stopped gracefully, so that the logs hold the shutdown too.
  island_.pieces_process(0).signal(SIGINT);
  island_.pieces_process(1).signal(SIGINT);
  island_.gateway_process().signal(SIGINT);
  EXPECT_TRUE(island_.pieces_process(0).wait_for(15s).has_value());
  EXPECT_TRUE(island_.pieces_process(1).wait_for(15s).has_value());
  EXPECT_TRUE(island_.gateway_process().wait_for(15s).has_value());
  const auto gateway_log = island_.gateway_log();
  const auto pieces_log = island_.pieces_log(0);
  EXPECT_NE(gateway_log.find("listening"), std::string::npos) << gateway_log;
  EXPECT_EQ(gateway_log.find(secret), std::string::npos) << gateway_log;
  EXPECT_EQ(pieces_log.find(secret), std::string::npos) << pieces_log;
}

}  // namespace
}  // namespace isla::testing
