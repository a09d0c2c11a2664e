// Fuzzes the --config file reader: any text either yields flags for the running command or
// is rejected with CLI::ConfigError naming the file; nothing else may happen. The command
// tree stands in for isla's, with a flag of every kind the reader tells apart; flags of the
// same name have the same kind, so that a file is accepted or refused whichever command runs
// (the whole file is checked, not only the running command's part).
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "app/config_file.hpp"
#include "invariant.hpp"

namespace {

struct Tree {
  CLI::App app{"fuzz"};
  std::string text;
  long integer = 0;
  std::size_t natural = 0;
  double number = 0;
  bool on = false;
  std::vector<std::string> list;

  Tree() {
    isla::app::add_config_option(app);
    auto* gateway = app.add_subcommand("gateway");
    gateway->add_option("--island", text)->envname("ISLA_FUZZ_ISLAND");
    gateway->add_option("--threads", integer)->check(CLI::Range(0L, 64L));
    gateway->add_option("--store-max-value-bytes", natural);
    gateway->add_option("--ratio", number);
    gateway->add_option("--secret", text);
    gateway->add_option("--mode", text)->type_name("MODE");
    gateway->add_flag("--fresh", on);
    gateway->add_option("--figures", list)->delimiter(',');
    auto* kv = app.add_subcommand("kv");
    auto* get = kv->add_subcommand("get");
    get->add_option("--gateway", text);
    get->add_option("key", text);
    get->add_flag("--serializable", on);
    kv->add_subcommand("put")->add_option("--gateway", text);
    kv->add_subcommand("lease")->add_subcommand("grant")->add_option("--gateway", text);
  }
};

const std::vector<std::vector<std::string>> kRunning = {
    {"gateway"}, {"kv", "get"}, {"kv", "put"}, {"kv", "lease", "grant"}};

const CLI::App* command_at(const CLI::App& root, const std::vector<std::string>& path) {
  const CLI::App* command = &root;
  for (const auto& name : path) command = command->get_subcommand(name);
  return command;
}

void check_items(const CLI::App& root, const std::vector<CLI::ConfigItem>& items,
                 const std::vector<std::string>& running) {
  std::set<const CLI::Option*> seen;
  for (const auto& item : items) {
    if (item.parents.size() > running.size() ||
        !std::equal(item.parents.begin(), item.parents.end(), running.begin())) {
      fail("an item for a command that does not run");
    }
    const auto* option = command_at(root, item.parents)->get_option_no_throw("--" + item.name);
    if (option == nullptr || option->get_lnames().empty()) fail("an item for no flag");
    if (!option->get_configurable()) fail("an item for a flag files may not set");
    if (!seen.insert(option).second) fail("two items for one flag");
    if (item.inputs.empty()) fail("an item without a value");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static Tree tree;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const std::string source = "fuzz.toml";
  int refused = 0;
  for (const auto& running : kRunning) {
    try {
      check_items(tree.app, isla::app::read_config(tree.app, text, source, running), running);
    } catch (const CLI::ConfigError& error) {
      if (std::string_view(error.what()).substr(0, source.size()) != source) {
        fail("ConfigError message does not start with the file's name");
      }
      ++refused;
    }
  }
  if (refused != 0 && refused != static_cast<int>(kRunning.size())) {
    fail("a file accepted for one command and refused for another");
  }
  return 0;
}
