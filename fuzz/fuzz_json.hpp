#pragma once
// How the JSON fuzz targets read their input, alike in each: parsed with nesting bounded to
// 16 levels, so that the fuzzer's runs go to the decoders under test rather than to ever
// deeper inputs of the parser.
#include <boost/json.hpp>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

inline std::string_view fuzz_text(const std::uint8_t* data, std::size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

// nullopt: not JSON, or nested deeper than 16.
inline std::optional<boost::json::value> parse_fuzz_json(std::string_view text) {
  boost::system::error_code error;
  boost::json::parse_options options;
  options.max_depth = 16;
  auto value = boost::json::parse(text, error, {}, options);
  if (error) return std::nullopt;
  return value;
}
