#include "election/term.hpp"

namespace isla::election {

std::uint32_t lane_of(std::string_view node_id) {
  std::uint32_t hash = 2166136261u;
  for (const char c : node_id) {
    hash ^= static_cast<unsigned char>(c);
    hash *= 16777619u;
  }
  return hash;
}

Term first_term_after(Term seen, std::string_view leader) {
  return ((round_of(seen) + 1) << 32) | lane_of(leader);
}

}  // namespace isla::election
