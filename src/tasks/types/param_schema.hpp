#pragma once
// A declarative parameter schema: the fields a task type takes, their types and bounds. It
// checks a submission (every broken rule, by field, for the 400 a gateway answers), fills in
// defaults for a run, and describes itself for GET /api/task-types. Strings and arrays are
// always bounded (kMaxStringBytes, kMaxArrayItems) even when a manifest names no bound, so no
// parameters can make a task hold unbounded memory.
#include <boost/json.hpp>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tasks/types/task_type.hpp"

namespace isla::tasks {

inline constexpr std::size_t kMaxStringBytes = 1u << 20;
inline constexpr std::size_t kMaxArrayItems = 100'000;

enum class ParamType { string, integer, number, boolean, array };
const char* to_string(ParamType type);
std::optional<ParamType> param_type_from(std::string_view text);

struct ParamField {
  std::string name;
  ParamType type = ParamType::string;
  bool required = false;
  std::optional<double> min;  // integer and number: inclusive bounds
  std::optional<double> max;
  std::optional<std::size_t> max_length;  // string: bytes (capped at kMaxStringBytes)
  std::optional<std::size_t> max_items;   // array of numbers (capped at kMaxArrayItems)
  std::optional<boost::json::value> default_value;
  std::string description;
};

class ParamSchema {
 public:
  ParamSchema() = default;
  explicit ParamSchema(std::vector<ParamField> fields);

  // Adds a field; throws std::invalid_argument for a schema that makes no sense (a duplicate
  // or empty name, min > max, a bound on a type it does not apply to, a default that breaks
  // the field's own rules).
  ParamSchema& add(ParamField field);

  const std::vector<ParamField>& fields() const { return fields_; }
  const ParamField* find(std::string_view name) const;

  // Every broken rule, in field order (then unknown fields, in the order given).
  std::vector<ParamError> validate(const boost::json::value& params) const;
  // The parameters with every absent field that has a default filled in.
  boost::json::object with_defaults(const boost::json::object& params) const;
  // {"field": {"type", "required", "min", "max", "max_length", "max_items", "default",
  // "description"}, …}; bounds that do not apply are left out.
  boost::json::object to_json() const;

 private:
  std::vector<ParamField> fields_;
};

// The rule a field states, as a client reads it: "must be an integer in [2, 10000000]".
std::string rule_text(const ParamField& field);

}  // namespace isla::tasks
