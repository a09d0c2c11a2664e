#include "app/secret_options.hpp"

#include <algorithm>
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

std::string unexpected_arguments(const std::vector<std::string>& arguments) {
  const bool flag_given = std::any_of(arguments.begin(), arguments.end(),
                                      [](const auto& a) { return a.starts_with('-'); });
  std::string shown;
  std::size_t hidden = 0;
  for (const auto& argument : arguments) {
    if (flag_given && !argument.starts_with('-')) {
      ++hidden;
      continue;
    }
    const auto equals = argument.find('=');
    shown += (shown.empty() ? "" : " ") + (argument.starts_with('-') && equals != std::string::npos
                                               ? argument.substr(0, equals + 1) + "..."
                                               : argument);
  }
  std::string message = "not expected: " + shown;
  if (hidden > 0) {
    message += " (and " + std::to_string(hidden) + " argument" + (hidden == 1 ? "" : "s") +
               " not shown: it may be a flag's value, a secret)";
  }
  return message;
}

}  // namespace isla::app
