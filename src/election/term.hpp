#pragma once
// Election terms as Paxos ballot numbers: the high 32 bits count leadership changes (the
// round), the low 32 bits are the leader's lane, a hash of its id. Only the leader's own lane
// ever carries its leadership, so two nodes never lead the same term even when they cannot
// talk to each other (a partition, lost messages) and both believe they won: a resource that
// accepts orders only from the highest term it has seen fences an old leader by the term alone.
//
// The price: two ids with the same lane could lead the same term. FNV-1a gives ids of equal
// length that differ in one byte different lanes (each step is a bijection), which covers the
// usual island of HOST:PORT addresses; anything else collides with odds of 2^-32 per pair.
#include <cstdint>
#include <string_view>

namespace isla::election {

using Term = std::uint64_t;

std::uint32_t lane_of(std::string_view node_id);

inline std::uint64_t round_of(Term term) {
  return term >> 32;
}

// The term `leader` takes over with: the next round after `seen`, in the leader's lane.
Term first_term_after(Term seen, std::string_view leader);

}  // namespace isla::election
