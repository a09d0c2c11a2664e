#pragma once
// What names may be: they end up in URLs, file names and datagrams.
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

inline bool is_short_name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_' || c == '.';
}

// What an island or role name may be (in datagrams, catalogues, status), and a task
// worker's id: 1-64 of a-z, A-Z, 0-9, '-', '_', '.'.
inline bool valid_short_name(std::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  for (char c : name) {
    if (!is_short_name_char(c)) return false;
  }
  return true;
}

}  // namespace isla::core
