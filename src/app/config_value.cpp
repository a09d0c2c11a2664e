#include "app/config_value.hpp"

#include <fmt/format.h>

#include <cstdint>
#include <sstream>

namespace isla::app {

namespace {

enum class Kind { flag, integer, natural, number, boolean, text, other };

Kind kind_of(const CLI::Option& option) {
  if (option.get_type_size_max() == 0 || option.get_expected_min() == 0) return Kind::flag;
  const auto type = option.get_type_name();
  const auto base = type.substr(0, type.find(':'));
  if (base == "INT") return Kind::integer;
  if (base == "UINT") return Kind::natural;
  if (base == "FLOAT") return Kind::number;
  if (base == "BOOLEAN") return Kind::boolean;
  if (base == "TEXT") return Kind::text;
  return Kind::other;  // a type of a flag's own: CLI11 converts and checks the text
}

const char* expected(Kind kind) {
  switch (kind) {
    case Kind::flag:
    case Kind::boolean:
      return "true or false";
    case Kind::integer:
      return "an integer";
    case Kind::natural:
      return "a non-negative integer";
    case Kind::number:
      return "a number";
    case Kind::text:
      return "a string";
    case Kind::other:
      return "a string, number or boolean";
  }
  return "";
}

// One scalar as CLI11 text, or nothing when it is not of `kind`.
std::optional<std::string> scalar_text(const toml::node& node, Kind kind) {
  const bool any = kind == Kind::other;
  if (const auto* value = node.as_string(); value && (kind == Kind::text || any)) {
    return value->get();
  }
  if (const auto* value = node.as_integer()) {
    const bool fits = kind == Kind::integer || kind == Kind::number || any ||
                      (kind == Kind::natural && value->get() >= 0);
    if (fits) return std::to_string(value->get());
  }
  if (const auto* value = node.as_floating_point(); value && (kind == Kind::number || any)) {
    return fmt::format("{}", value->get());
  }
  if (const auto* value = node.as_boolean()) {
    if (kind == Kind::flag || kind == Kind::boolean || any) return value->get() ? "true" : "false";
  }
  return std::nullopt;
}

// `text` as the TOML type inputs_for expects of a flag of `kind`; text it cannot convert
// stays a string, for CLI11 to judge.
void insert_typed(toml::array& out, Kind kind, const std::string& text) {
  if (kind == Kind::flag || kind == Kind::boolean) {
    out.push_back(text == "true" || text == "1");
    return;
  }
  std::istringstream in(text);
  if (kind == Kind::number) {
    double number = 0;
    if (in >> number && in.eof()) {
      out.push_back(number);
      return;
    }
  } else if (kind == Kind::integer || kind == Kind::natural) {
    std::int64_t number = 0;
    if (in >> number && in.eof()) {
      out.push_back(number);
      return;
    }
  }
  out.push_back(text);
}

}  // namespace

bool takes_several(const CLI::Option& option) {
  return kind_of(option) != Kind::flag && option.get_items_expected_max() > 1;
}

std::optional<std::vector<std::string>> inputs_for(const toml::node& node,
                                                   const CLI::Option& option) {
  const auto kind = kind_of(option);
  const auto* array = node.as_array();
  if (array == nullptr) {
    auto text = scalar_text(node, kind);
    if (!text) return std::nullopt;
    return std::vector<std::string>{std::move(*text)};
  }
  if (!takes_several(option) || array->empty()) {
    return std::nullopt;
  }
  std::vector<std::string> out;
  for (const auto& element : *array) {
    auto text = scalar_text(element, kind);
    if (!text) return std::nullopt;
    out.push_back(std::move(*text));
  }
  return out;
}

std::string type_problem(const toml::node& node, const CLI::Option& option) {
  const bool several = takes_several(option);
  std::ostringstream given;
  given << node.type();
  return fmt::format("expected {}{}, got {}", expected(kind_of(option)),
                     several ? " or a non-empty array of them" : "", given.str());
}

void insert_value(toml::table& table, const std::string& key, const CLI::Option& option,
                  const std::vector<std::string>& texts) {
  toml::array typed;
  for (const auto& text : texts) insert_typed(typed, kind_of(option), text);
  if (takes_several(option)) {
    table.insert(key, std::move(typed));
  } else {
    typed.back().visit([&](const auto& value) { table.insert(key, value); });
  }
}

}  // namespace isla::app
