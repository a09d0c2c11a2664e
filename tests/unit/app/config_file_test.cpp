// --config FILE: which flags a TOML file sets, where, in what order of precedence, and the
// errors a bad file gives. A small command tree stands in for isla's; the last tests read the
// documentation's examples against the real one.
#include "app/config_file.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>

#include "app/commands.hpp"
#include "support/island.hpp"

namespace isla::app {
namespace {

// Writes `text` to a file of its own, removed at the end of the test.
class TempFile {
 public:
  explicit TempFile(const std::string& text) {
    static std::atomic<int> counter{0};
    path_ = std::filesystem::temp_directory_path() / ("isla-config-" + std::to_string(::getpid()) +
                                                      "-" + std::to_string(counter++) + ".toml");
    std::ofstream(path_) << text;
  }
  ~TempFile() { std::filesystem::remove(path_); }
  std::string path() const { return path_.string(); }

 private:
  std::filesystem::path path_;
};

// gateway [--island --threads --secret --fresh --data-dir --figures], kv get [--gateway KEY],
// kv put [--gateway].
struct Commands {
  CLI::App app{"test"};
  std::string island = "local";
  long threads = 0;
  std::string secret;
  std::string data_dir;
  bool fresh = false;
  std::vector<std::string> figures;
  std::string get_gateway = "default";
  std::string put_gateway = "default";
  std::string key;

  Commands() {
    app.require_subcommand(1);
    add_config_option(app);
    auto* gateway = app.add_subcommand("gateway");
    gateway->add_option("--island", island)->envname("ISLA_TEST_ISLAND")->capture_default_str();
    gateway->add_option("--threads", threads)->check(CLI::Range(0L, 64L));
    gateway->add_option("--secret", secret);
    gateway->add_flag("--fresh", fresh);
    gateway->add_option("--data-dir", data_dir);
    gateway->add_option("--figures", figures)->delimiter(',');
    auto* kv = app.add_subcommand("kv");
    auto* get = kv->add_subcommand("get");
    get->add_option("--gateway", get_gateway);
    get->add_option("key", key);
    kv->add_subcommand("put")->add_option("--gateway", put_gateway);
  }

  // Parsing --config sets ISLA_CONFIG for child processes; not for the next test.
  ~Commands() { ::unsetenv("ISLA_CONFIG"); }

  void parse(const std::string& command_line) { app.parse(command_line, false); }
};

// The message of the CLI::ConfigError that parsing `command` with `file` throws.
std::string config_error(const std::string& text, const std::string& command = "gateway") {
  TempFile file(text);
  Commands commands;
  try {
    commands.parse(command + " --config " + file.path());
  } catch (const CLI::ConfigError& error) {
    const std::string message = error.what();
    EXPECT_NE(message.find(file.path()), std::string::npos) << message;
    return message;
  }
  ADD_FAILURE() << "no error for:\n" << text;
  return {};
}

TEST(ConfigFile, ASectionSetsItsCommandsFlags) {
  TempFile file(
      "[gateway]\nisland = \"blue\"\nthreads = 4\nfresh = true\nfigures = [\"giraffe\", "
      "\"black-sheep\"]\n");
  Commands commands;
  commands.parse("gateway --config " + file.path());
  EXPECT_EQ(commands.island, "blue");
  EXPECT_EQ(commands.threads, 4);
  EXPECT_TRUE(commands.fresh);
  EXPECT_EQ(commands.figures, (std::vector<std::string>{"giraffe", "black-sheep"}));
}

TEST(ConfigFile, IsReadWhetherGivenBeforeOrAfterTheCommand) {
  TempFile file("[gateway]\nisland = \"blue\"\n");
  Commands before;
  before.parse("--config " + file.path() + " gateway");
  EXPECT_EQ(before.island, "blue");
  Commands after;
  after.parse("gateway --config " + file.path() + " --threads 2");
  EXPECT_EQ(after.island, "blue");
  EXPECT_EQ(after.threads, 2);
}

TEST(ConfigFile, AFlagOfSeveralValuesTakesAListInAString) {
  TempFile file("[gateway]\nfigures = \"giraffe,black-sheep\"\n");
  Commands commands;
  commands.parse("gateway --config " + file.path());
  EXPECT_EQ(commands.figures, (std::vector<std::string>{"giraffe", "black-sheep"}));
}

TEST(ConfigFile, TopLevelKeysApplyToTheRunningCommandWhenItHasTheFlag) {
  TempFile file("island = \"top\"\ngateway = \"127.0.0.9:5235\"\n");
  Commands get;
  get.parse("kv get k --config " + file.path());
  EXPECT_EQ(get.get_gateway, "127.0.0.9:5235");
  EXPECT_EQ(get.island, "local");  // gateway's flag; gateway did not run
  Commands gateway;
  gateway.parse("gateway --config " + file.path());
  EXPECT_EQ(gateway.island, "top");
}

TEST(ConfigFile, TheMostSpecificPlaceWins) {
  TempFile file("gateway = \"top\"\n[kv]\ngateway = \"kv\"\n[kv.get]\ngateway = \"get\"\n");
  Commands get;
  get.parse("kv get k --config " + file.path());
  EXPECT_EQ(get.get_gateway, "get");
  Commands put;
  put.parse("kv put --config " + file.path());
  EXPECT_EQ(put.put_gateway, "kv");
}

// flags > ISLA_* environment > file > defaults, each pair.
class Precedence : public ::testing::Test {
 protected:
  void TearDown() override { ::unsetenv("ISLA_TEST_ISLAND"); }
  TempFile file_{"[gateway]\nisland = \"from-file\"\n"};
};

TEST_F(Precedence, TheFileOverridesTheDefault) {
  Commands commands;
  commands.parse("gateway --config " + file_.path());
  EXPECT_EQ(commands.island, "from-file");
}

TEST_F(Precedence, AFlagOverridesTheFile) {
  Commands commands;
  commands.parse("gateway --island from-flag --config " + file_.path());
  EXPECT_EQ(commands.island, "from-flag");
}

TEST_F(Precedence, TheEnvironmentOverridesTheFile) {
  ::setenv("ISLA_TEST_ISLAND", "from-env", 1);
  Commands commands;
  commands.parse("gateway --config " + file_.path());
  EXPECT_EQ(commands.island, "from-env");
}

TEST_F(Precedence, AFlagOverridesTheEnvironment) {
  ::setenv("ISLA_TEST_ISLAND", "from-env", 1);
  Commands commands;
  commands.parse("gateway --config " + file_.path() + " --island from-flag");
  EXPECT_EQ(commands.island, "from-flag");
}

TEST_F(Precedence, AnEmptyVariableIsNotSet) {
  ::setenv("ISLA_TEST_ISLAND", "", 1);
  Commands commands;
  commands.parse("gateway --config " + file_.path());
  EXPECT_EQ(commands.island, "from-file");
}

TEST(ConfigFile, AnUnknownKeyIsAnErrorNamingTheFileAndTheKey) {
  const auto message = config_error("[gateway]\nislnd = \"blue\"\n");
  EXPECT_NE(message.find(":2: [gateway] islnd: unknown key"), std::string::npos) << message;
}

TEST(ConfigFile, EveryPartOfTheFileIsCheckedNotOnlyTheRunningCommands) {
  const auto message = config_error("[kv.get]\ngatway = \"x\"\n", "gateway");
  EXPECT_NE(message.find("[kv.get] gatway: unknown key"), std::string::npos) << message;
  const auto top = config_error("islnd = \"x\"\n", "kv get k");
  EXPECT_NE(top.find("islnd: unknown key"), std::string::npos) << top;
}

TEST(ConfigFile, AnUnknownSectionIsAnError) {
  auto message = config_error("[gatway]\nisland = \"blue\"\n");
  EXPECT_NE(message.find(":1: [gatway]: no such command"), std::string::npos) << message;
  message = config_error("[kv.gte]\ngateway = \"x\"\n");
  EXPECT_NE(message.find(": [kv.gte]: no such command"), std::string::npos) << message;
}

TEST(ConfigFile, AKeySpeltWithUnderscoresGetsAHint) {
  const auto message = config_error("[gateway]\ndata_dir = \"x\"\n");
  EXPECT_NE(message.find("[gateway] data_dir: unknown key: `isla gateway` has no flag --data_dir "
                         "(did you mean data-dir?)"),
            std::string::npos)
      << message;
}

TEST(ConfigFile, PositionalArgumentsHelpAndConfigAreNoKeys) {
  EXPECT_NE(config_error("[kv.get]\nkey = \"k\"\n", "kv get k").find("unknown key"),
            std::string::npos);
  EXPECT_NE(config_error("[gateway]\nhelp = true\n").find("cannot be set in a config file"),
            std::string::npos);
  EXPECT_NE(config_error("config = \"other.toml\"\n").find("cannot be set in a config file"),
            std::string::npos);
}

TEST(ConfigFile, AWrongTypeIsAnErrorNamingTheKeyAndTheTypes) {
  auto message = config_error("[gateway]\nthreads = \"4\"\n");
  EXPECT_NE(message.find("[gateway] threads: expected an integer, got string"), std::string::npos)
      << message;
  message = config_error("[gateway]\nfresh = 1\n");
  EXPECT_NE(message.find("[gateway] fresh: expected true or false, got integer"), std::string::npos)
      << message;
  message = config_error("[gateway]\nisland = [\"a\"]\n");
  EXPECT_NE(message.find("[gateway] island: expected a string, got array"), std::string::npos)
      << message;
  message = config_error("[gateway]\nfigures = []\n");
  EXPECT_NE(message.find("figures: expected a string or a non-empty array of them"),
            std::string::npos)
      << message;
}

TEST(ConfigFile, ErrorsNeverShowTheValueASecretMayBeIn) {
  const auto message = config_error("[gateway]\nsecret = 1234567890123\n");
  EXPECT_NE(message.find("[gateway] secret: expected a string, got integer"), std::string::npos)
      << message;
  EXPECT_EQ(message.find("1234567890123"), std::string::npos) << message;
}

TEST(ConfigFile, TextThatIsNotTomlSaysWhere) {
  const auto message = config_error("[gateway]\nisland = \"unterminated\n");
  EXPECT_NE(message.find(":2:"), std::string::npos) << message;
  EXPECT_NE(message.find("not TOML"), std::string::npos) << message;
}

// toml++ 3.3 mishandles some non-ASCII characters, so files are ASCII; strings can still
// hold any character as an escape.
TEST(ConfigFile, IsAsciiWithOtherCharactersEscapedInStrings) {
  const auto message = config_error("# caf\xc3\xa9\n[gateway]\nisland = \"x\"\n");
  EXPECT_NE(message.find(":1: config files must be plain ASCII text"), std::string::npos)
      << message;
  TempFile file("[gateway]\nisland = \"caf\\u00e9\"\n");
  Commands commands;
  commands.parse("gateway --config " + file.path());
  EXPECT_EQ(commands.island, "caf\xc3\xa9");
}

TEST(ConfigFile, AValueOutOfRangeFailsAsOnTheCommandLine) {
  TempFile file("[gateway]\nthreads = 65\n");
  Commands commands;
  EXPECT_THROW(commands.parse("gateway --config " + file.path()), CLI::ValidationError);
}

TEST(ConfigFile, AMissingFileIsAnError) {
  Commands commands;
  EXPECT_THROW(commands.parse("gateway --config /nonexistent/isla.toml"), CLI::FileError);
}

TEST(ConfigFile, IslaConfigNamesTheFileWhenConfigDoesNot) {
  TempFile file("[gateway]\nisland = \"from-isla-config\"\n");
  TempFile other("[gateway]\nisland = \"from-flag-file\"\n");
  ::setenv("ISLA_CONFIG", file.path().c_str(), 1);
  {
    Commands commands;
    commands.parse("gateway");
    EXPECT_EQ(commands.island, "from-isla-config");
  }
  ::setenv("ISLA_CONFIG", file.path().c_str(), 1);
  {
    Commands commands;
    commands.parse("gateway --config " + other.path());
    EXPECT_EQ(commands.island, "from-flag-file");
  }
  TempFile typo("[gateway]\nislnd = \"x\"\n");
  ::setenv("ISLA_CONFIG", typo.path().c_str(), 1);
  try {
    Commands commands;
    commands.parse("gateway");
    ADD_FAILURE() << "no error for a key unknown in ISLA_CONFIG's file";
  } catch (const CLI::ConfigError& error) {
    EXPECT_NE(std::string(error.what()).find(typo.path() + ":2: [gateway] islnd"),
              std::string::npos)
        << error.what();
  }
  ::setenv("ISLA_CONFIG", "/nonexistent/isla.toml", 1);
  Commands commands;
  EXPECT_THROW(commands.parse("gateway"), CLI::FileError);
}

// So that the nodes `isla up` starts read the file too.
TEST(ConfigFile, TheFileGivenIsPassedOnInIslaConfig) {
  TempFile file("[gateway]\nisland = \"blue\"\n");
  const auto relative = std::filesystem::relative(file.path());
  Commands commands;
  commands.parse("gateway --config " + relative.string());
  const char* passed = std::getenv("ISLA_CONFIG");
  ASSERT_NE(passed, nullptr);
  EXPECT_EQ(std::filesystem::path(passed), std::filesystem::absolute(relative));
}

TEST(ConfigFile, WritingTheConfigLeavesSecretsOutAndReadsBack) {
  Commands commands;
  commands.parse("gateway --island blue --threads 3 --secret hunter2-secret --figures a,b");
  const auto written = commands.app.config_to_str();
  EXPECT_EQ(written.find("hunter2-secret"), std::string::npos) << written;
  EXPECT_NE(written.find("left out, as secrets are never written: secret"), std::string::npos)
      << written;
  Commands again;
  const auto items = read_config(again.app, written, "written.toml", {"gateway"});
  std::map<std::string, std::vector<std::string>> read;
  for (const auto& item : items) read[item.name] = item.inputs;
  EXPECT_EQ(read["island"], std::vector<std::string>{"blue"}) << written;
  EXPECT_EQ(read["threads"], std::vector<std::string>{"3"}) << written;
  EXPECT_EQ(read["figures"], (std::vector<std::string>{"a", "b"})) << written;
  EXPECT_EQ(read.count("secret"), 0u);
}

// isla's own commands, without running any: every ```toml example in
// docs/configuration.md is a valid file for them.
TEST(ConfigFile, TheDocumentedExamplesAreValidForIsla) {
  CLI::App isla{"isla"};
  add_config_option(isla);
  add_pieces_command(isla);
  add_gateway_command(isla);
  add_client_commands(isla);
  add_kv_command(isla);
  add_store_command(isla);
  add_up_command(isla);
  const auto docs = testing::read_file(testing::source_dir() / "docs/configuration.md");
  const std::regex block("```toml\n([^`]*)```");
  int examples = 0;
  for (std::sregex_iterator it(docs.begin(), docs.end(), block), end; it != end; ++it) {
    ++examples;
    for (const std::vector<std::string>& running :
         {std::vector<std::string>{"gateway"}, {"pieces"}, {"up"}, {"kv", "get"}}) {
      EXPECT_NO_THROW(read_config(isla, (*it)[1].str(), "example", running)) << (*it)[1];
    }
  }
  EXPECT_GE(examples, 3);
}

}  // namespace
}  // namespace isla::app
