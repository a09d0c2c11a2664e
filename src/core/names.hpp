#pragma once
// What a figure name may be: it ends up in URLs, file names and datagrams.
#include <string_view>

namespace isla::core {

constexpr std::size_t kMaxFigureNameBytes = 64;

inline bool valid_figure_name(std::string_view name) {
  if (name.empty() || name.size() > kMaxFigureNameBytes) return false;
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
    if (!ok) return false;
  }
  return name.front() != '-';
}

}  // namespace isla::core
