#include "app/task_params.hpp"

#include <algorithm>
#include <cmath>
#include <set>

#include "core/parse.hpp"

namespace isla::app {

namespace json = boost::json;

namespace {

std::optional<json::value> parse_json(std::string_view text) {
  boost::system::error_code error;
  json::parse_options options;
  options.max_depth = 32;
  auto value = json::parse(text, error, {}, options);
  if (error) return std::nullopt;
  return value;
}

std::optional<double> parse_number(std::string_view text) {
  if (auto integer = core::parse_integer<std::int64_t>(text)) return static_cast<double>(*integer);
  auto value = parse_json(text);
  if (!value || !value->is_number()) return std::nullopt;
  return value->to_number<double>();
}

// An item of a comma-separated list, or a field of unknown type's word.
json::value inferred(std::string_view text, bool structured) {
  if (auto integer = core::parse_integer<std::int64_t>(text)) return *integer;
  if (text == "true") return true;
  if (text == "false") return false;
  if (auto value = parse_json(text)) {
    if (value->is_number() || value->is_null() || (structured && !value->is_string())) {
      return *value;
    }
  }
  return json::string(text);
}

std::string quoted(std::string_view text) {
  constexpr std::size_t kShown = 40;
  return "'" + std::string(text.substr(0, kShown)) + (text.size() > kShown ? "...'" : "'");
}

}  // namespace

std::optional<json::value> param_value(std::string_view text, std::string_view type,
                                       std::string* error) {
  if (type == "string") return json::string(text);
  if (type == "integer") {
    if (auto integer = core::parse_integer<std::int64_t>(text)) return *integer;
    *error = quoted(text) + " is not an integer";
    return std::nullopt;
  }
  if (type == "number") {
    if (auto integer = core::parse_integer<std::int64_t>(text)) return *integer;
    if (auto number = parse_number(text); number && std::isfinite(*number)) return *number;
    *error = quoted(text) + " is not a number";
    return std::nullopt;
  }
  if (type == "boolean") {
    if (text == "true") return true;
    if (text == "false") return false;
    *error = quoted(text) + " is not true or false";
    return std::nullopt;
  }
  if (type == "array") {
    if (text.starts_with('[')) {
      auto value = parse_json(text);
      if (value && value->is_array()) return value;
      *error = quoted(text) + " is not a JSON array";
      return std::nullopt;
    }
    json::array items;
    while (!text.empty()) {
      const auto comma = text.find(',');
      items.push_back(inferred(text.substr(0, comma), false));
      if (comma == std::string_view::npos) break;
      text.remove_prefix(comma + 1);
      if (text.empty()) items.push_back(json::string());  // "1,2," ends with an empty item
    }
    return items;
  }
  if (type == "object") {
    auto value = parse_json(text);
    if (value && value->is_object()) return value;
    *error = quoted(text) + " is not a JSON object";
    return std::nullopt;
  }
  return inferred(text, true);
}

std::optional<json::object> build_params(std::string_view params_json,
                                         const std::vector<std::string>& words,
                                         const json::object* schema, std::string* error) {
  json::object params;
  if (!params_json.empty()) {
    auto value = parse_json(params_json);
    if (!value || !value->is_object()) {
      *error = "--params must be a JSON object, e.g. '{\"limit\": 1000}'";
      return std::nullopt;
    }
    params = std::move(value->as_object());
  }
  std::set<std::string, std::less<>> given;
  for (const auto& word : words) {
    const auto equals = word.find('=');
    if (equals == std::string::npos) {
      *error = quoted(word) + " is not key=value (or key:=JSON)";
      return std::nullopt;
    }
    const bool raw = equals > 0 && word[equals - 1] == ':';
    const std::string key = word.substr(0, raw ? equals - 1 : equals);
    const std::string_view text = std::string_view(word).substr(equals + 1);
    if (key.empty()) {
      *error = quoted(word) + " has no key before '='";
      return std::nullopt;
    }
    if (!given.insert(key).second) {
      *error = key + " is given twice";
      return std::nullopt;
    }
    std::string why;
    std::optional<json::value> value;
    if (raw) {
      value = parse_json(text);
      if (!value) why = quoted(text) + " is not JSON";
    } else {
      std::string_view type;
      const auto* field = schema != nullptr ? schema->if_contains(key) : nullptr;
      const auto* field_type =
          field != nullptr && field->is_object() ? field->as_object().if_contains("type") : nullptr;
      if (field_type != nullptr && field_type->is_string()) type = field_type->as_string();
      value = param_value(text, type, &why);
    }
    if (!value) {
      *error = key + ": " + why;
      return std::nullopt;
    }
    params[key] = std::move(*value);
  }
  return params;
}

std::int64_t percentile(std::vector<std::int64_t>& values, double p) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  const double rank = std::ceil(std::clamp(p, 0.0, 100.0) / 100.0 * values.size());
  const auto index = static_cast<std::size_t>(std::max(rank, 1.0)) - 1;
  return values[std::min(index, values.size() - 1)];
}

}  // namespace isla::app
