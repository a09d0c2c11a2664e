#pragma once
// A partitioned island for tests (issue 14): gateways started with --partition-catalog, piece
// servers with --partitioned, and what the gateways' GET /api/figures says of the placement.
#include <map>
#include <set>
#include <string>
#include <vector>

#include "support/island.hpp"

namespace isla::testing {

// Starts `gateways` gateways partitioning the test catalogue over piece servers, `replicas`
// per figure; piece servers started afterwards announce to all of them.
void start_partitioning_gateways(Island& island, int gateways, int replicas = 2);
// Starts piece server `index` holding what the gateways assign.
core::Endpoint start_partitioned_pieces(Island& island, int index);

struct FigurePlacement {
  std::set<std::string> servers;  // routable holders now
  std::set<std::string> owners;   // where it belongs
};
// Figure -> placement, from `gateway`'s GET /api/figures; empty when it cannot be read.
std::map<std::string, FigurePlacement> figure_placement(const Island& island, int gateway = 0);
// True when every figure has `replicas` owners among `members`, and is held by its owners and
// by nobody else.
bool placement_settled(const std::map<std::string, FigurePlacement>& placement,
                       const std::set<std::string>& members, std::size_t replicas);

}  // namespace isla::testing
