#pragma once
// What changed between two routing snapshots, as events for the causal event log: piece
// servers that requests may now be routed to, and ones they no longer may.
#include <string>
#include <vector>

#include "gateway/routing_table.hpp"

namespace isla::gateway {

struct RouteChange {
  std::string server;
  bool added = false;                // false: removed (left, timed out, ejected or draining)
  std::vector<std::string> figures;  // the figures it serves (added) or served (removed)
  friend bool operator==(const RouteChange&, const RouteChange&) = default;
};

std::vector<RouteChange> route_changes(const RoutingSnapshot& before, const RoutingSnapshot& after);

}  // namespace isla::gateway
