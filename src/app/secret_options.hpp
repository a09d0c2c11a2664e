#pragma once
// Secrets and tokens given as flags must never be printed: not in --help (as a default), not
// in a written config (TomlConfig::to_config), not in an error message about a config file.
#include <CLI/CLI.hpp>

namespace isla::app {

// A flag whose value is a secret: a word of its long name is "secret", "token" or "password"
// and it does not name a file or directory holding one (--secret-file's path is not secret).
bool is_secret(const CLI::Option& option);

// Drops every secret flag's default text from `command` and its subcommands, and stops it
// being captured again, so that --help cannot show a value given in code or by a caller.
void hide_secret_defaults(CLI::App& command);

}  // namespace isla::app
