#pragma once
// Reading series out of a Prometheus /metrics text.
#include <optional>
#include <sstream>
#include <string>

namespace isla::testing {

// The value of the series named exactly `series` (name and labels) in a /metrics text.
inline std::optional<double> metric(const std::string& text, const std::string& series) {
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.starts_with(series + " ")) return std::stod(line.substr(series.size() + 1));
  }
  return std::nullopt;
}

}  // namespace isla::testing
