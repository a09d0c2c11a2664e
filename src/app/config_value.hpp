#pragma once
// How a flag's values are spelt in a config file: the TOML type a flag takes (from the type
// CLI11 converts its text to), and the conversion both ways between TOML values and that text.
#include <toml++/toml.h>
#include <CLI/CLI.hpp>

#include <optional>
#include <string>
#include <vector>

namespace isla::app {

// A flag taking several values (--figures): a config file may give it an array.
bool takes_several(const CLI::Option& option);

// The value of `node` as the inputs of `option` (the text CLI11 parses), or nothing when its
// TOML type is not the flag's: a string for text, an integer for a count, true or false for
// an on/off flag, an array of them where the flag takes several.
std::optional<std::vector<std::string>> inputs_for(const toml::node& node,
                                                   const CLI::Option& option);

// Why `node` is no value for `option`: the types expected and given, never the value given,
// which may be a secret.
std::string type_problem(const toml::node& node, const CLI::Option& option);

// Adds `key` for `option` to `table`, typed so that inputs_for reads the texts back.
void insert_value(toml::table& table, const std::string& key, const CLI::Option& option,
                  const std::vector<std::string>& texts);

}  // namespace isla::app
