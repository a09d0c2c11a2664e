// sum, multiply, sort, reverse: small, fast, in-process. Integers stay exact: a sum or
// product of JSON integers is a 64-bit integer, and one that would overflow is refused at
// submit (bad parameters, never retried) rather than silently rounded; any decimal among the
// values makes the arithmetic floating-point, and a non-finite result is refused the same way.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <optional>
#include <string_view>

#include "tasks/types/builtin_type.hpp"

namespace isla::tasks {

namespace json = boost::json;

namespace {

enum class Operation { add, multiply };

struct Total {
  json::value value;  // std::int64_t or double; null when it does not fit
  std::string problem;
};

bool all_integers(const json::array& values) {
  return std::all_of(values.begin(), values.end(), [](const json::value& v) {
    return v.is_int64() || (v.is_uint64() && v.get_uint64() <= INT64_MAX);
  });
}

std::int64_t as_int64(const json::value& v) {
  return v.is_int64() ? v.get_int64() : static_cast<std::int64_t>(v.get_uint64());
}

Total fold(const json::array& values, Operation operation) {
  const char* noun = operation == Operation::add ? "sum" : "product";
  if (all_integers(values)) {
    std::int64_t total = operation == Operation::add ? 0 : 1;
    for (const auto& item : values) {
      const bool overflow = operation == Operation::add
                                ? __builtin_add_overflow(total, as_int64(item), &total)
                                : __builtin_mul_overflow(total, as_int64(item), &total);
      if (overflow) {
        return {nullptr, std::string("the ") + noun +
                             " of these integers overflows a 64-bit integer (write the values "
                             "as decimals, e.g. 2.0, for floating-point arithmetic)"};
      }
    }
    return {total, {}};
  }
  double total = operation == Operation::add ? 0.0 : 1.0;
  for (const auto& item : values) {
    const double number = item.to_number<double>();
    total = operation == Operation::add ? total + number : total * number;
  }
  if (!std::isfinite(total)) return {nullptr, std::string("the ") + noun + " is not finite"};
  return {total, {}};
}

ParamField values_field(const char* description) {
  ParamField field;
  field.name = "values";
  field.type = ParamType::array;
  field.required = true;
  field.max_items = kMaxArrayItems;
  field.description = description;
  return field;
}

TaskLimits quick_limits() {
  TaskLimits limits;
  limits.wall = std::chrono::seconds(10);
  limits.cpu = std::chrono::seconds(10);
  limits.memory_bytes = 64ull << 20;
  limits.output_bytes = 4ull << 20;
  return limits;
}

std::shared_ptr<const TaskType> fold_type(const char* name, const char* description,
                                          Operation operation) {
  const std::string key = operation == Operation::add ? "sum" : "product";
  BuiltinSpec spec;
  spec.name = name;
  spec.description = description;
  spec.limits = quick_limits();
  spec.schema.add(
      values_field("the numbers (integers stay exact; any decimal makes it floating-point)"));
  spec.extra_check = [operation](const json::object& params) -> std::vector<ParamError> {
    const auto total = fold(params.at("values").as_array(), operation);
    if (total.value.is_null()) return {{"values", total.problem}};
    return {};
  };
  spec.function = [operation, key](const json::object& params, const RunContext&) {
    auto total = fold(params.at("values").as_array(), operation);
    if (total.value.is_null()) {
      return TaskOutcome::failure_of(FailureKind::bad_params, "values: " + total.problem);
    }
    return TaskOutcome::success(json::object{{key, std::move(total.value)}});
  };
  return std::make_shared<BuiltinType>(std::move(spec));
}

// Orders JSON numbers by value; two integers compare exactly, anything else as doubles.
bool number_less(const json::value& a, const json::value& b) {
  if (a.is_int64() && b.is_int64()) return a.get_int64() < b.get_int64();
  if (a.is_uint64() && b.is_uint64()) return a.get_uint64() < b.get_uint64();
  return a.to_number<double>() < b.to_number<double>();
}

std::shared_ptr<const TaskType> sort_type() {
  BuiltinSpec spec;
  spec.name = "sort";
  spec.description = "Sorts numbers, ascending unless descending is true";
  spec.limits = quick_limits();
  spec.schema.add(values_field("the numbers to sort"));
  ParamField descending;
  descending.name = "descending";
  descending.type = ParamType::boolean;
  descending.default_value = false;
  descending.description = "largest first";
  spec.schema.add(std::move(descending));
  spec.function = [](const json::object& params, const RunContext&) {
    json::array values = params.at("values").as_array();
    if (params.at("descending").as_bool()) {
      std::stable_sort(
          values.begin(), values.end(),
          [](const json::value& a, const json::value& b) { return number_less(b, a); });
    } else {
      std::stable_sort(values.begin(), values.end(), number_less);
    }
    return TaskOutcome::success(json::object{{"values", std::move(values)}});
  };
  return std::make_shared<BuiltinType>(std::move(spec));
}

// The length of the UTF-8 sequence that starts with `lead`; a stray byte counts as one, so
// that malformed text is still reversed without reading past its end.
std::size_t sequence_length(unsigned char lead) {
  if (lead >= 0xF0 && lead <= 0xF4) return 4;
  if (lead >= 0xE0) return lead <= 0xEF ? 3 : 1;
  if (lead >= 0xC2) return 2;
  return 1;
}

// Reverses by code point, not by byte, so that UTF-8 text stays UTF-8.
std::string reverse_code_points(std::string_view text) {
  std::string reversed(text.size(), '\0');
  std::size_t read = 0;
  std::size_t write = text.size();
  while (read < text.size()) {
    std::size_t length = sequence_length(static_cast<unsigned char>(text[read]));
    length = std::min(length, text.size() - read);
    write -= length;
    text.copy(reversed.data() + write, length, read);
    read += length;
  }
  return reversed;
}

std::shared_ptr<const TaskType> reverse_type() {
  BuiltinSpec spec;
  spec.name = "reverse";
  spec.description = "Reverses a text, character by character";
  spec.limits = quick_limits();
  ParamField text;
  text.name = "text";
  text.type = ParamType::string;
  text.required = true;
  text.max_length = kMaxStringBytes;
  text.description = "UTF-8 text";
  spec.schema.add(std::move(text));
  spec.function = [](const json::object& params, const RunContext&) {
    const auto& text = params.at("text").as_string();
    return TaskOutcome::success(
        json::object{{"text", reverse_code_points(std::string_view(text.data(), text.size()))}});
  };
  return std::make_shared<BuiltinType>(std::move(spec));
}

}  // namespace

std::vector<std::shared_ptr<const TaskType>> arithmetic_types() {
  return {fold_type("sum", "Adds numbers", Operation::add),
          fold_type("multiply", "Multiplies numbers", Operation::multiply), sort_type(),
          reverse_type()};
}

}  // namespace isla::tasks
