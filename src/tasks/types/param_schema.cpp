#include "tasks/types/param_schema.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <utility>

namespace isla::tasks {

namespace json = boost::json;

namespace {

constexpr std::pair<ParamType, const char*> kTypeNames[] = {
    {ParamType::string, "string"},   {ParamType::integer, "integer"}, {ParamType::number, "number"},
    {ParamType::boolean, "boolean"}, {ParamType::array, "array"},
};

constexpr std::size_t kMaxEchoedName = 64;

bool is_numeric(ParamType type) {
  return type == ParamType::integer || type == ParamType::number;
}

std::string bound_text(double bound, ParamType type) {
  if (type == ParamType::integer) return fmt::format("{}", static_cast<std::int64_t>(bound));
  return fmt::format("{}", bound);
}

std::string range_text(const ParamField& field) {
  const auto& [min, max] = std::pair(field.min, field.max);
  if (min && max) {
    return fmt::format(" in [{}, {}]", bound_text(*min, field.type), bound_text(*max, field.type));
  }
  if (min) return fmt::format(" of at least {}", bound_text(*min, field.type));
  if (max) return fmt::format(" of at most {}", bound_text(*max, field.type));
  return "";
}

std::size_t effective_max_length(const ParamField& field) {
  return std::min(field.max_length.value_or(kMaxStringBytes), kMaxStringBytes);
}

std::size_t effective_max_items(const ParamField& field) {
  return std::min(field.max_items.value_or(kMaxArrayItems), kMaxArrayItems);
}

// A JSON integer as a double, for comparing with bounds; nullopt when it is not an integer.
std::optional<double> integer_value(const json::value& value) {
  if (value.is_int64()) return static_cast<double>(value.get_int64());
  if (value.is_uint64()) return static_cast<double>(value.get_uint64());
  return std::nullopt;
}

std::optional<double> finite_number(const json::value& value) {
  if (!value.is_number()) return std::nullopt;
  const double number = value.to_number<double>();
  if (!std::isfinite(number)) return std::nullopt;
  return number;
}

bool within(double number, const ParamField& field) {
  return (!field.min || number >= *field.min) && (!field.max || number <= *field.max);
}

bool satisfies(const ParamField& field, const json::value& value) {
  switch (field.type) {
    case ParamType::string:
      return value.is_string() && value.get_string().size() <= effective_max_length(field);
    case ParamType::integer: {
      const auto number = integer_value(value);
      return number && within(*number, field);
    }
    case ParamType::number: {
      const auto number = finite_number(value);
      return number && within(*number, field);
    }
    case ParamType::boolean:
      return value.is_bool();
    case ParamType::array: {
      if (!value.is_array() || value.get_array().size() > effective_max_items(field)) return false;
      const auto& items = value.get_array();
      return std::all_of(items.begin(), items.end(),
                         [](const json::value& item) { return finite_number(item).has_value(); });
    }
  }
  return false;
}

void check_definition(const ParamField& field) {
  const auto bad = [&](const std::string& why) {
    throw std::invalid_argument("parameter \"" + field.name + "\": " + why);
  };
  if (field.name.empty()) bad("the name is empty");
  if ((field.min || field.max) && !is_numeric(field.type)) bad("min/max apply to numbers only");
  if (field.min && field.max && *field.min > *field.max) bad("min is greater than max");
  if ((field.min && !std::isfinite(*field.min)) || (field.max && !std::isfinite(*field.max))) {
    bad("min/max must be finite");
  }
  if (field.max_length && field.type != ParamType::string) bad("max_length applies to strings");
  if (field.max_items && field.type != ParamType::array) bad("max_items applies to arrays");
  if (field.default_value && !satisfies(field, *field.default_value)) {
    bad("the default breaks the rule: " + rule_text(field));
  }
}

}  // namespace

const char* to_string(ParamType type) {
  for (const auto& [value, name] : kTypeNames) {
    if (value == type) return name;
  }
  return "string";
}

std::optional<ParamType> param_type_from(std::string_view text) {
  for (const auto& [value, name] : kTypeNames) {
    if (text == name) return value;
  }
  return std::nullopt;
}

std::string rule_text(const ParamField& field) {
  switch (field.type) {
    case ParamType::string:
      return fmt::format("must be a string of at most {} bytes", effective_max_length(field));
    case ParamType::integer:
      return "must be an integer" + range_text(field);
    case ParamType::number:
      return "must be a number" + range_text(field);
    case ParamType::boolean:
      return "must be true or false";
    case ParamType::array:
      return fmt::format("must be an array of at most {} numbers", effective_max_items(field));
  }
  return "is malformed";
}

ParamSchema::ParamSchema(std::vector<ParamField> fields) {
  for (auto& field : fields) add(std::move(field));
}

ParamSchema& ParamSchema::add(ParamField field) {
  check_definition(field);
  if (find(field.name) != nullptr) {
    throw std::invalid_argument("parameter \"" + field.name + "\" is defined twice");
  }
  fields_.push_back(std::move(field));
  return *this;
}

const ParamField* ParamSchema::find(std::string_view name) const {
  for (const auto& field : fields_) {
    if (field.name == name) return &field;
  }
  return nullptr;
}

std::vector<ParamError> ParamSchema::validate(const json::value& params) const {
  if (!params.is_object()) return {{"params", "must be an object"}};
  const auto& object = params.get_object();
  std::vector<ParamError> errors;
  for (const auto& field : fields_) {
    const auto* value = object.if_contains(field.name);
    if (value == nullptr) {
      if (field.required) errors.push_back({field.name, "is required"});
      continue;
    }
    if (!satisfies(field, *value)) errors.push_back({field.name, rule_text(field)});
  }
  for (const auto& [key, value] : object) {
    if (find(key) != nullptr) continue;
    if (key.empty()) {
      errors.push_back({"params", "holds a field with an empty name"});
    } else if (key.size() > kMaxEchoedName) {
      // A 400 should not echo a megabyte of someone's key back.
      errors.push_back(
          {std::string(key.substr(0, kMaxEchoedName)) + "…", "is not a parameter of this type"});
    } else {
      errors.push_back({std::string(key), "is not a parameter of this type"});
    }
  }
  return errors;
}

json::object ParamSchema::with_defaults(const json::object& params) const {
  json::object filled = params;
  for (const auto& field : fields_) {
    if (field.default_value && !filled.contains(field.name)) {
      filled[field.name] = *field.default_value;
    }
  }
  return filled;
}

json::object ParamSchema::to_json() const {
  json::object schema;
  for (const auto& field : fields_) {
    json::object entry{{"type", to_string(field.type)}, {"required", field.required}};
    const auto bound = [&](double value) -> json::value {
      if (field.type == ParamType::integer) return static_cast<std::int64_t>(value);
      return value;
    };
    if (field.min) entry["min"] = bound(*field.min);
    if (field.max) entry["max"] = bound(*field.max);
    if (field.type == ParamType::string) entry["max_length"] = effective_max_length(field);
    if (field.type == ParamType::array) entry["max_items"] = effective_max_items(field);
    if (field.default_value) entry["default"] = *field.default_value;
    entry["description"] = field.description;
    schema[field.name] = std::move(entry);
  }
  return schema;
}

}  // namespace isla::tasks
