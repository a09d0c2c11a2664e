#pragma once
// Secrets and tokens given as flags must never be printed: not in --help (as a default), not
// in a written config (TomlConfig::to_config), not in an error message about a config file.
#include <CLI/CLI.hpp>
#include <string>
#include <vector>

namespace isla::app {

// A flag whose value is a secret: a word of its long name is "secret", "token" or "password"
// and it does not name a file or directory holding one (--secret-file's path is not secret).
bool is_secret(const CLI::Option& option);

// Drops every secret flag's default text from `command` and its subcommands, and stops it
// being captured again, so that --help cannot show a value given in code or by a caller.
void hide_secret_defaults(CLI::App& command);

// The message for arguments no command expected, without any value a mistyped flag may have
// been given (`--secrt VALUE`, `--secrt=VALUE`): when a flag is among them, the arguments
// that are no flags are counted but not shown. CLI11's own message lists them all.
std::string unexpected_arguments(const std::vector<std::string>& arguments);

}  // namespace isla::app
