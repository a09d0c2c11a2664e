// Manifests: what a good one becomes, and that every mistake is named by file, line and key.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "tasks/types/external_task.hpp"

namespace isla::tasks {
namespace {

namespace json = boost::json;
namespace fs = std::filesystem;

constexpr const char* kGood = R"(
name = "wordcount"
description = "Counts words"
command = ["bin/wordcount", "--json"]
[limits]
wall_ms = 5000
cpu_ms = 2000
memory_mb = 128
output_bytes = 4096
max_running = 4
[params.text]
type = "string"
required = true
max_length = 100000
description = "the text"
[params.top]
type = "integer"
min = 1
max = 50
default = 10
[params.weights]
type = "array"
max_items = 8
default = [1, 2.5]
)";

TEST(Manifest, AGoodOneBecomesATaskDescription) {
  const auto manifest = parse_task_manifest(kGood, "wc.toml", "/srv/tasks");
  EXPECT_EQ(manifest.name, "wordcount");
  EXPECT_EQ(manifest.description, "Counts words");
  EXPECT_EQ(manifest.command, (std::vector<std::string>{"/srv/tasks/bin/wordcount", "--json"}));
  EXPECT_EQ(manifest.limits.wall.count(), 5000);
  EXPECT_EQ(manifest.limits.cpu.count(), 2000);
  EXPECT_EQ(manifest.limits.memory_bytes, 128ull << 20);
  EXPECT_EQ(manifest.limits.output_bytes, 4096u);
  EXPECT_EQ(manifest.limits.max_running, 4);
  const auto schema = manifest.schema.to_json();
  EXPECT_EQ(schema.at("text").at("max_length"), json::value(100000));
  EXPECT_EQ(schema.at("top").at("default"), json::value(10));
  EXPECT_EQ(schema.at("weights").at("default"), json::parse("[1, 2.5]"));
  EXPECT_EQ(manifest.schema.validate(json::parse(R"({"text": "a b", "top": 51})"))[0].message(),
            "top: must be an integer in [1, 50]");
}

TEST(Manifest, DefaultsWhenLimitsAreLeftOut) {
  const auto manifest =
      parse_task_manifest("name = \"t\"\ncommand = [\"/usr/bin/true\"]\n", "t.toml", "/d");
  EXPECT_EQ(manifest.command[0], "/usr/bin/true");
  EXPECT_EQ(manifest.limits.wall.count(), 60'000);
  EXPECT_EQ(manifest.limits.cpu.count(), 60'000);
  EXPECT_EQ(manifest.limits.memory_bytes, 256ull << 20);
  EXPECT_TRUE(manifest.schema.fields().empty());
}

std::string error_of(const std::string& text) {
  try {
    parse_task_manifest(text, "tasks.d/x.toml", "/d");
  } catch (const std::runtime_error& error) {
    return error.what();
  }
  return "no error";
}

TEST(Manifest, EveryMistakeNamesTheFileAndTheKey) {
  const std::string command = "command = [\"x\"]\n";
  struct Case {
    std::string text;
    std::string error;
  };
  const Case cases[] = {
      {"name = ", "tasks.d/x.toml:1:8: not TOML"},
      {command, "tasks.d/x.toml: name: is required"},
      {"name = 5\n" + command, "tasks.d/x.toml:1: name: must be a string of at most 64 bytes"},
      {"name = \"a b\"\n" + command, "tasks.d/x.toml:1: name: must be 1-64 letters"},
      {"name = \"t\"\n", "tasks.d/x.toml: command: is required"},
      {"name = \"t\"\ncommand = []\n", "tasks.d/x.toml:2: command: must be an array of 1 to 64"},
      {"name = \"t\"\ncommand = \"x\"\n", "tasks.d/x.toml:2: command: must be an array"},
      {"name = \"t\"\ncommand = [3]\n", "tasks.d/x.toml:2: command: must be an array of non-empty"},
      {"name = \"t\"\nnmae = 1\n" + command, "tasks.d/x.toml:2: nmae: is not a manifest key"},
      {"name = \"t\"\n" + command + "[limits]\nwall_ms = 0\n",
       "tasks.d/x.toml:4: limits.wall_ms: must be an integer in [1, 3600000]"},
      {"name = \"t\"\n" + command + "[limits]\ncpu_ms = \"1s\"\n",
       "tasks.d/x.toml:4: limits.cpu_ms: must be an integer in [1, 3600000]"},
      {"name = \"t\"\n" + command + "[limits]\nmemory_mb = 8\n",
       "tasks.d/x.toml:4: limits.memory_mb: must be an integer in [16, 65536]"},
      {"name = \"t\"\n" + command + "[limits]\nmax_running = -1\n",
       "tasks.d/x.toml:4: limits.max_running: must be an integer in [0, 100000]"},
      {"name = \"t\"\n" + command + "[limits]\nwal_ms = 5\n",
       "tasks.d/x.toml:4: limits.wal_ms: is not a manifest key"},
      {"name = \"t\"\n" + command + "limits = 5\n", "tasks.d/x.toml:3: limits: must be a table"},
      {"name = \"t\"\n" + command + "[params.n]\nrequired = true\n",
       "tasks.d/x.toml:3: params.n.type: is required"},
      {"name = \"t\"\n" + command + "[params.n]\ntype = \"float\"\n",
       "tasks.d/x.toml:4: params.n.type: must be string, integer, number, boolean or array"},
      {"name = \"t\"\n" + command + "[params.n]\ntype = \"integer\"\nmin = \"low\"\n",
       "tasks.d/x.toml:5: params.n.min: must be a number"},
      {"name = \"t\"\n" + command + "[params.n]\ntype = \"integer\"\nmin = 5\nmax = 1\n",
       "tasks.d/x.toml:3: params.n: parameter \"n\": min is greater than max"},
      {"name = \"t\"\n" + command + "[params.n]\ntype = \"string\"\nmax_length = 2000000\n",
       "tasks.d/x.toml:5: params.n.max_length: must be an integer in [0, 1048576]"},
      {"name = \"t\"\n" + command + "[params.n]\ntype = \"integer\"\nmax = 3\ndefault = 9\n",
       "tasks.d/x.toml:3: params.n: parameter \"n\": the default breaks the rule"},
      {"name = \"t\"\n" + command + "[params.n]\ntype = \"array\"\ndefault = [\"a\"]\n",
       "tasks.d/x.toml:5: params.n.default: an array default must hold numbers only"},
      {"name = \"t\"\n" + command + "[params.n]\ntype = \"integer\"\nrequird = true\n",
       "tasks.d/x.toml:5: params.n.requird: is not a manifest key"},
      {"name = \"t\"\n" + command + "[params]\nn = 5\n",
       "tasks.d/x.toml:4: params.n: must be a table"},
  };
  for (const auto& test : cases) {
    const auto error = error_of(test.text);
    EXPECT_EQ(error.substr(0, test.error.size()), test.error) << test.text;
  }
}

class TaskDirectory : public ::testing::Test {
 protected:
  TaskDirectory() {
    char pattern[] = "/tmp/isla-task-dir-XXXXXX";
    dir_ = ::mkdtemp(pattern);
  }
  ~TaskDirectory() override { fs::remove_all(dir_); }
  void write(const std::string& name, const std::string& text) {
    std::ofstream(dir_ / name) << text;
  }
  fs::path dir_;
};

TEST_F(TaskDirectory, EveryTomlFileBecomesAType) {
  write("b.toml", "name = \"second\"\ncommand = [\"/usr/bin/true\"]\n");
  write("a.toml", "name = \"first\"\ncommand = [\"/usr/bin/true\"]\n");
  write("notes.txt", "not a manifest");
  TaskCatalog catalog;
  add_external_types(catalog, dir_.string());
  ASSERT_EQ(catalog.all().size(), 2u);
  EXPECT_EQ(catalog.all()[0]->name(), "first");
  EXPECT_EQ(catalog.all()[1]->name(), "second");
}

TEST_F(TaskDirectory, AMissingProgramIsNamed) {
  write("a.toml", "name = \"first\"\ncommand = [\"missing-program\"]\n");
  TaskCatalog catalog;
  try {
    add_external_types(catalog, dir_.string());
    FAIL() << "accepted a manifest whose program does not exist";
  } catch (const std::runtime_error& error) {
    EXPECT_NE(std::string(error.what()).find("a.toml: command: "), std::string::npos)
        << error.what();
    EXPECT_NE(std::string(error.what()).find("missing-program is not an executable file"),
              std::string::npos)
        << error.what();
  }
}

TEST_F(TaskDirectory, ANameTakenByABuiltinIsRefused) {
  write("a.toml", "name = \"sum\"\ncommand = [\"/usr/bin/true\"]\n");
  TaskCatalog catalog;
  add_builtin_types(catalog);
  try {
    add_external_types(catalog, dir_.string());
    FAIL() << "accepted a second \"sum\"";
  } catch (const std::runtime_error& error) {
    EXPECT_NE(std::string(error.what()).find("a.toml: name: "), std::string::npos) << error.what();
  }
}

TEST_F(TaskDirectory, AMissingDirectoryIsAnError) {
  TaskCatalog catalog;
  EXPECT_THROW(add_external_types(catalog, (dir_ / "nowhere").string()), std::runtime_error);
}

TEST(SampleTasks, TheWordcountManifestLoads) {
  TaskCatalog catalog;
  add_external_types(catalog, ISLA_TASK_DIR);
  const auto* wordcount = catalog.find("wordcount");
  ASSERT_NE(wordcount, nullptr);
  EXPECT_EQ(wordcount->limits().max_running, 4);
  EXPECT_EQ(wordcount->validate(json::parse("{}"))[0].message(), "text: is required");
}

}  // namespace
}  // namespace isla::tasks
