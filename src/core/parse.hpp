#pragma once
// Whole-string number parsing: the text must be the number and nothing else.
#include <charconv>
#include <optional>
#include <string_view>

namespace isla::core {

template <class Integer>
std::optional<Integer> parse_integer(std::string_view text, int base = 10) {
  Integer value{};
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value, base);
  if (error != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

}  // namespace isla::core
