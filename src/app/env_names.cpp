#include "app/env_names.hpp"

#include <algorithm>
#include <cctype>
#include <set>

namespace isla::app {

std::string env_name_for(const std::string& long_name) {
  std::string out = "ISLA_";
  for (const char c : long_name) {
    out += c == '-' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  }
  return out;
}

void add_env_names(CLI::App& command) {
  const auto options = command.get_options();
  std::set<std::string> taken;
  for (const auto* option : options) {
    if (!option->get_envname().empty()) taken.insert(option->get_envname());
  }
  for (auto* option : options) {
    // Positionals, --help, --version and --config are not settings.
    if (option->get_lnames().empty() || !option->get_configurable()) continue;
    if (!option->get_envname().empty()) continue;
    const auto name = env_name_for(option->get_lnames().front());
    if (taken.insert(name).second) option->envname(name);
  }
  for (auto* sub : command.get_subcommands([](CLI::App*) { return true; })) add_env_names(*sub);
}

}  // namespace isla::app
