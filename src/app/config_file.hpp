#pragma once
// `--config FILE`: every flag of every command from a TOML file (docs/configuration.md).
//
// A key is a flag's long name without its dashes. Top-level keys apply to whichever command
// runs if it has that flag; a table names a command ([gateway], [kv], [kv.lease]) and applies
// to it and its subcommands; the more specific place wins. Precedence, as ARCHITECTURE.md
// section 7 says: flags > ISLA_* environment > file > defaults. CLI11 already lets flags win
// (it fills only options the command line left empty); an option whose environment variable
// is set is left out of the file's items, so that CLI11, which reads files before the
// environment, gives the variable the option instead.
#include <CLI/CLI.hpp>
#include <string>
#include <string_view>
#include <vector>

namespace isla::app {

// The flags `text` sets for the command `running` (its path from the root, e.g. {"kv",
// "get"}), one item per flag, with `parents` the path to the command owning it. The whole
// file is checked, not only the running command's part: any unknown section or key, a value
// of the wrong type, or TOML that does not parse throws CLI::ConfigError naming `source` and
// the key.
std::vector<CLI::ConfigItem> read_config(const CLI::App& root, std::string_view text,
                                         const std::string& source,
                                         const std::vector<std::string>& running);

// CLI11's reader and writer of config files, in TOML through toml++.
class TomlConfig : public CLI::Config {
 public:
  explicit TomlConfig(const CLI::App& root) : root_(root) {}

  std::vector<CLI::ConfigItem> from_config(std::istream& input) const override;
  // The options' current values (or defaults, with `default_also`) as TOML; secrets are
  // never written (a comment says they were left out).
  std::string to_config(const CLI::App* app, bool default_also, bool write_description,
                        std::string prefix) const override;

 private:
  const CLI::App& root_;
};

// Adds `--config FILE` (or ISLA_CONFIG) to `root`, read with TomlConfig; the file given is
// put in ISLA_CONFIG for child processes. Call before the subcommands are added:
// they inherit the fall-through that lets `isla gateway --config FILE` reach the root's option,
// and the help footer that mentions it.
void add_config_option(CLI::App& root);

}  // namespace isla::app
