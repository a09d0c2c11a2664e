// Fuzzes what `isla task run` makes of its arguments (app/task_params.hpp). The input is a
// schema (JSON, first line), a --params text (second line), then one key=value word a line.
// It must never crash; a refusal must say why; accepted parameters hold every word's key;
// a field typed in the schema gets a value of that type.
#include <boost/json.hpp>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "app/task_params.hpp"
#include "fuzz_json.hpp"
#include "invariant.hpp"

namespace json = boost::json;

namespace {

bool has_type(const json::value& value, std::string_view type) {
  if (type == "string") return value.is_string();
  if (type == "integer") return value.is_int64();
  if (type == "number") return value.is_number();
  if (type == "boolean") return value.is_bool();
  if (type == "array") return value.is_array();
  if (type == "object") return value.is_object();
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view input = fuzz_text(data, size);
  std::vector<std::string> lines;
  while (!input.empty() && lines.size() < 64) {
    const auto end = input.find('\n');
    lines.emplace_back(input.substr(0, end));
    if (end == std::string_view::npos) break;
    input.remove_prefix(end + 1);
  }
  if (lines.size() < 2) return 0;
  const auto schema_value = parse_fuzz_json(lines[0]);
  const json::object* schema =
      schema_value && schema_value->is_object() ? &schema_value->as_object() : nullptr;
  const std::vector<std::string> words(lines.begin() + 2, lines.end());
  std::string error;
  const auto params = isla::app::build_params(lines[1], words, schema, &error);
  if (!params) {
    if (error.empty()) fail("parameters refused without a reason");
    return 0;
  }
  for (const auto& word : words) {
    const auto equals = word.find('=');
    const bool raw = equals > 0 && word[equals - 1] == ':';
    const std::string key = word.substr(0, raw ? equals - 1 : equals);
    const auto* value = params->if_contains(key);
    if (value == nullptr) fail("a word's key is missing from the parameters");
    if (raw || schema == nullptr) continue;
    const auto* field = schema->if_contains(key);
    const auto* type =
        field && field->is_object() ? field->as_object().if_contains("type") : nullptr;
    if (type && type->is_string() && !has_type(*value, type->as_string())) {
      fail("a typed field got a value of another type");
    }
  }
  std::vector<std::int64_t> values;
  for (const auto& [key, value] : *params) {
    if (value.is_int64()) values.push_back(value.as_int64());
  }
  const auto p50 = isla::app::percentile(values, 50);
  if (!values.empty() && (p50 < values.front() || p50 > values.back())) {
    fail("a percentile outside the values");
  }
  return 0;
}
