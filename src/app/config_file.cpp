#include "app/config_file.hpp"

#include <fmt/format.h>
#include <toml++/toml.h>

#include <algorithm>
#include <cstddef>
#include <cstdlib>
#include <deque>
#include <filesystem>
#include <iterator>
#include <map>
#include <sstream>

#include "app/config_value.hpp"
#include "app/secret_options.hpp"

namespace isla::app {

namespace {

using Path = std::vector<std::string>;

std::string dotted(const Path& path) {
  std::string out;
  for (const auto& part : path) out += (out.empty() ? "" : ".") + part;
  return out;
}

// A key as people wrote it: "[gateway] island", or "island" at the top.
std::string key_name(const Path& section, std::string_view key) {
  return section.empty() ? std::string(key) : fmt::format("[{}] {}", dotted(section), key);
}

// Messages name the file, the line and the key; never the value, which may be a secret.
[[noreturn]] void fail(const std::string& source, const toml::node& node, const Path& section,
                       std::string_view key, std::string_view problem) {
  const auto line = node.source().begin.line;
  throw CLI::ConfigError(fmt::format("{}{}: {}: {}", source,
                                     line > 0 ? ":" + std::to_string(line) : std::string(),
                                     key_name(section, key), problem));
}

const CLI::App* subcommand(const CLI::App& command, const std::string& name) {
  for (const auto* sub : command.get_subcommands([](const CLI::App*) { return true; })) {
    if (sub->get_name() == name) return sub;
  }
  return nullptr;
}

// The flag `--key` of `command` (not a positional argument: those are no settings).
const CLI::Option* flag_of(const CLI::App& command, std::string_view key) {
  if (key.empty() || key.front() == '-') return nullptr;
  const auto* option = command.get_option_no_throw("--" + std::string(key));
  return option != nullptr && !option->get_lnames().empty() ? option : nullptr;
}

// Every flag named `key` of `command` and the commands under it.
void flags_named(const CLI::App& command, std::string_view key,
                 std::vector<const CLI::Option*>& out) {
  if (const auto* option = flag_of(command, key)) out.push_back(option);
  for (const auto* sub : command.get_subcommands([](const CLI::App*) { return true; })) {
    flags_named(*sub, key, out);
  }
}

bool set_in_environment(const CLI::Option& option) {
  const auto& name = option.get_envname();
  if (name.empty()) return false;
  const char* value = std::getenv(name.c_str());
  return value != nullptr && *value != '\0';  // CLI11 ignores empty variables too
}

// Walks the file's tables as commands, checking every key, and keeps for each flag of the
// running command the value of the most specific place that sets it.
class Reader {
 public:
  Reader(const CLI::App& root, const std::string& source, const Path& running)
      : root_(root), source_(source), running_(running) {}

  void table(const toml::table& table, const CLI::App& command, const Path& section) {
    for (const auto& [key_view, node] : table) {
      const std::string key(key_view.str());
      if (const auto* nested = node.as_table()) {
        const auto* sub = subcommand(command, key);
        if (sub == nullptr) {
          fail(source_, node, {}, "[" + dotted(with(section, key)) + "]",
               fmt::format("no such command: a table names a command (`isla {}--help` lists them)",
                           section.empty() ? "" : dotted(section) + " "));
        }
        table_later_.push_back({nested, sub, with(section, key)});
        continue;
      }
      value(node, command, section, key);
    }
  }

  // Tables after the keys above them, so that a more specific place is read later and wins.
  void tables() {
    while (!table_later_.empty()) {
      const auto next = table_later_.front();
      table_later_.pop_front();
      table(*next.table, *next.command, next.section);
    }
  }

  std::vector<CLI::ConfigItem> items() const {
    std::vector<CLI::ConfigItem> out;
    for (const auto& [option, item] : chosen_) out.push_back(item);
    return out;
  }

 private:
  struct Later {
    const toml::table* table;
    const CLI::App* command;
    Path section;
  };

  static Path with(Path path, const std::string& part) {
    path.push_back(part);
    return path;
  }

  void value(const toml::node& node, const CLI::App& command, const Path& section,
             const std::string& key) {
    std::vector<const CLI::Option*> candidates;
    flags_named(command, key, candidates);
    if (candidates.empty()) unknown(node, section, key, command);
    for (const auto* option : candidates) {
      if (!option->get_configurable()) {
        fail(source_, node, section, key, "cannot be set in a config file");
      }
    }
    const auto applied = applicable(section, key);
    if (applied.option != nullptr) {
      auto inputs = inputs_for(node, *applied.option);
      if (!inputs) fail(source_, node, section, key, type_problem(node, *applied.option));
      // The environment overrides the file: leave the flag empty for CLI11 to fill from it.
      if (set_in_environment(*applied.option)) return;
      chosen_[applied.option] = CLI::ConfigItem{applied.path, key, std::move(*inputs)};
      return;
    }
    // Not for the running command: still check that some command could take the value.
    for (const auto* option : candidates) {
      if (inputs_for(node, *option)) return;
    }
    fail(source_, node, section, key, type_problem(node, *candidates.front()));
  }

  // A typo must not pass unnoticed: say which command lacks the flag, and hint at the
  // spelling when only '_' for '-' is wrong.
  [[noreturn]] void unknown(const toml::node& node, const Path& section, const std::string& key,
                            const CLI::App& command) const {
    auto dashed = key;
    std::replace(dashed.begin(), dashed.end(), '_', '-');
    std::vector<const CLI::Option*> respelt;
    if (dashed != key) flags_named(command, dashed, respelt);
    const auto hint = respelt.empty() ? std::string() : fmt::format(" (did you mean {}?)", dashed);
    const auto owner = section.empty() ? std::string("no command of isla")
                                       : fmt::format("`isla {}`", dotted(section));
    fail(source_, node, section, key,
         fmt::format("unknown key: {} has no flag --{}{}", owner, key, hint));
  }

  struct Applicable {
    const CLI::Option* option = nullptr;
    Path path;
  };

  // The flag `key` set in `section` means for the running command: the deepest command
  // of the running path, below the section, that has it.
  Applicable applicable(const Path& section, const std::string& key) const {
    if (section.size() > running_.size() ||
        !std::equal(section.begin(), section.end(), running_.begin())) {
      return {};
    }
    std::vector<const CLI::App*> chain{&root_};
    for (const auto& name : running_) {
      chain.push_back(subcommand(*chain.back(), name));
      if (chain.back() == nullptr) return {};
    }
    for (auto depth = running_.size() + 1; depth-- > section.size();) {
      if (const auto* option = flag_of(*chain[depth], key)) {
        return {option,
                Path(running_.begin(), running_.begin() + static_cast<std::ptrdiff_t>(depth))};
      }
    }
    return {};
  }

  const CLI::App& root_;
  const std::string& source_;
  const Path& running_;
  std::deque<Later> table_later_;
  std::map<const CLI::Option*, CLI::ConfigItem> chosen_;
};

}  // namespace

std::vector<CLI::ConfigItem> read_config(const CLI::App& root, std::string_view text,
                                         const std::string& source, const Path& running) {
  // toml++ 3.3 reaches undefined behaviour on some non-ASCII characters where whitespace may
  // be (marzer/tomlplusplus#190; found by fuzz_config_file): keep them away from it. Strings
  // can still hold any character, written as \uXXXX.
  std::size_t line = 1;
  for (const char c : text) {
    if (c == '\n') ++line;
    if (static_cast<unsigned char>(c) >= 0x80 || c == '\0') {
      throw CLI::ConfigError(fmt::format(
          "{}:{}: config files must be plain ASCII text (write other characters in strings as "
          "\\uXXXX)",
          source, line));
    }
  }
  toml::table table;
  try {
    table = toml::parse(text, source);
  } catch (const toml::parse_error& error) {
    const auto& where = error.source().begin;
    throw CLI::ConfigError(fmt::format("{}:{}:{}: not TOML: {}", source, where.line, where.column,
                                       error.description()));
  }
  Reader reader(root, source, running);
  reader.table(table, root, {});
  reader.tables();
  return reader.items();
}

std::vector<CLI::ConfigItem> TomlConfig::from_config(std::istream& input) const {
  const std::string text(std::istreambuf_iterator<char>(input), {});
  // CLI11 does not tell its reader the file's name: it is --config's one value, or its
  // default (ISLA_CONFIG), which CLI11 records only after reading the file.
  const auto* option = root_.get_config_ptr();
  std::string source = "--config";
  if (option != nullptr)
    source = option->count() == 1 ? option->results().front() : option->get_default_str();
  Path running;
  for (const auto* command = &root_; !command->get_subcommands().empty();) {
    command = command->get_subcommands().front();
    running.push_back(command->get_name());
  }
  return read_config(root_, text, source, running);
}

std::string TomlConfig::to_config(const CLI::App* app, bool default_also, bool write_description,
                                  std::string prefix) const {
  std::ostringstream out;
  toml::table values;
  std::string left_out;
  for (const auto* option : app->get_options()) {
    if (option->get_lnames().empty() || !option->get_configurable()) continue;
    const auto& key = option->get_lnames().front();
    if (is_secret(*option)) {
      left_out += (left_out.empty() ? "" : ", ") + key;
      continue;
    }
    std::vector<std::string> texts = option->results();
    if (texts.empty() && default_also && !option->get_default_str().empty()) {
      texts.push_back(option->get_default_str());
    }
    if (texts.empty()) continue;
    insert_value(values, key, *option, texts);
    if (write_description && !option->get_description().empty()) {
      out << "# " << key << ": " << option->get_description() << "\n";
    }
  }
  if (!prefix.empty() && !values.empty()) out << "[" << prefix << "]\n";
  if (!values.empty()) out << values << "\n";
  if (!left_out.empty()) out << "# left out, as secrets are never written: " << left_out << "\n";
  for (const auto* sub : app->get_subcommands()) {
    const auto name = prefix.empty() ? sub->get_name() : prefix + "." + sub->get_name();
    out << to_config(sub, default_also, write_description, name);
  }
  return out.str();
}

void add_config_option(CLI::App& root) {
  root.fallthrough();
  root.footer(
      "Every flag can also be set in a TOML file given with --config FILE (before or after the "
      "command), or by an ISLA_* environment variable; flags win over the environment, which "
      "wins over the file. See docs/configuration.md.");
  root.config_formatter(std::make_shared<TomlConfig>(root));
  auto* option =
      root.set_config("--config", "", "Read flags from this TOML file (docs/configuration.md)");
  // ISLA_CONFIG names the file when --config does not. It cannot be the option's envname: CLI11
  // reads config files before the environment. Required, so that a missing file is an error
  // rather than skipped as CLI11 skips a missing default file.
  if (const char* file = std::getenv("ISLA_CONFIG"); file != nullptr && *file != '\0') {
    option->default_str(file)->required();
  }
  // The nodes `isla up` starts read the same file: they inherit ISLA_CONFIG, set here while
  // parsing, before any command runs.
  option->each([](const std::string& file) {
    ::setenv("ISLA_CONFIG", std::filesystem::absolute(file).c_str(), 1);
  });
}

}  // namespace isla::app
