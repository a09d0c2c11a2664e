#include "gateway/route_changes.hpp"

#include <algorithm>
#include <map>

namespace isla::gateway {

namespace {

std::map<std::string, std::vector<std::string>> figures_by_server(const RoutingSnapshot& routes) {
  std::map<std::string, std::vector<std::string>> out;
  for (const auto& [figure, backends] : routes.routable) {
    for (const auto& backend : backends) out[backend->address].push_back(figure);
  }
  for (auto& [server, figures] : out) std::sort(figures.begin(), figures.end());
  return out;
}

}  // namespace

std::vector<RouteChange> route_changes(const RoutingSnapshot& before,
                                       const RoutingSnapshot& after) {
  const auto old_servers = figures_by_server(before);
  const auto new_servers = figures_by_server(after);
  std::vector<RouteChange> changes;
  for (const auto& [server, figures] : new_servers) {
    if (!old_servers.contains(server)) changes.push_back({server, true, figures});
  }
  for (const auto& [server, figures] : old_servers) {
    if (!new_servers.contains(server)) changes.push_back({server, false, figures});
  }
  return changes;
}

}  // namespace isla::gateway
