#pragma once
// Every flag also reads an ISLA_* environment variable (ARCHITECTURE.md section 7: flags >
// env > file > defaults), named after it: --data-dir reads ISLA_DATA_DIR. Done once, after
// the commands have added their flags, so that a flag added anywhere gets one.
#include <CLI/CLI.hpp>
#include <string>

namespace isla::app {

// "ISLA_" and the long name in upper case, '-' as '_': "data-dir" -> "ISLA_DATA_DIR".
std::string env_name_for(const std::string& long_name);

// Gives each configurable flag of `command` and its subcommands without an environment
// variable the one env_name_for its first long name, unless another flag of the same
// command already reads that variable (two flags must not share one by accident).
void add_env_names(CLI::App& command);

}  // namespace isla::app
