#include "balancer/proxy/duration.hpp"

#include <stdexcept>
#include <string>

#include "core/parse.hpp"
#include "net/http_types.hpp"

namespace isla::balancer {

std::chrono::milliseconds parse_duration(std::string_view text) {
  const auto fail = [&]() -> std::invalid_argument {
    return std::invalid_argument("'" + net::valid_utf8(text) +
                                 "' is not a duration from 1ms to 1d (e.g. 2s, 500ms, 1m)");
  };
  std::size_t digits = 0;
  while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9') ++digits;
  if (digits == 0 || digits > 12) throw fail();
  const auto number = core::parse_integer<long long>(text.substr(0, digits));
  if (!number) throw fail();
  const auto unit = text.substr(digits);
  long long factor = 0;
  if (unit.empty() || unit == "ms") {
    factor = 1;
  } else if (unit == "s") {
    factor = 1000;
  } else if (unit == "m") {
    factor = 60'000;
  } else if (unit == "h") {
    factor = 3'600'000;
  } else if (unit == "d") {
    factor = 86'400'000;
  } else {
    throw fail();
  }
  const long long millis = *number * factor;
  if (millis < 1 || millis > 86'400'000) throw fail();
  return std::chrono::milliseconds(millis);
}

}  // namespace isla::balancer
