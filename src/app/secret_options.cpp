#include "app/secret_options.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace isla::app {

namespace {

std::vector<std::string_view> words(std::string_view name) {
  std::vector<std::string_view> out;
  for (std::size_t start = 0; start <= name.size();) {
    const auto end = std::min(name.find_first_of("-_", start), name.size());
    out.push_back(name.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

bool secret_name(std::string_view name) {
  const auto parts = words(name);
  if (parts.back() == "file" || parts.back() == "dir") return false;
  for (const auto part : parts) {
    if (part == "secret" || part == "token" || part == "password") return true;
  }
  return false;
}

}  // namespace

bool is_secret(const CLI::Option& option) {
  for (const auto& name : option.get_lnames()) {
    if (secret_name(name)) return true;
  }
  return false;
}

void hide_secret_defaults(CLI::App& command) {
  for (auto* option : command.get_options()) {
    if (!is_secret(*option)) continue;
    option->always_capture_default(false);
    option->default_str("");
  }
  for (auto* sub : command.get_subcommands([](CLI::App*) { return true; })) {
    hide_secret_defaults(*sub);
  }
}

}  // namespace isla::app
