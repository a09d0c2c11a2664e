#include "gateway/remote_islands.hpp"

#include <algorithm>

namespace isla::gateway {

bool RemoteIslands::update(IslandCatalogue catalogue, core::SteadyTime now) {
  if (catalogue.island == local_island_) return false;
  std::sort(catalogue.figures.begin(), catalogue.figures.end());
  std::lock_guard lock(mutex_);
  auto found = islands_.find(catalogue.island);
  if (found == islands_.end()) {
    if (islands_.size() >= kMaxRemoteIslands) return false;
    const auto name = catalogue.island;
    islands_.emplace(name, Entry{std::move(catalogue), now});
    return true;
  }
  const bool changed = found->second.catalogue != catalogue;
  found->second = Entry{std::move(catalogue), now};
  return changed;
}

bool RemoteIslands::remove_gateway(const std::string& island, const std::string& gateway) {
  std::lock_guard lock(mutex_);
  auto found = islands_.find(island);
  if (found == islands_.end()) return false;
  auto& catalogue = found->second.catalogue;
  const auto before = catalogue.gateways.size();
  std::erase(catalogue.gateways, gateway);
  const bool was_bridge = catalogue.bridge == gateway;
  if (was_bridge) catalogue.bridge.clear();
  return was_bridge || catalogue.gateways.size() != before;
}

std::vector<std::string> RemoteIslands::expire(core::SteadyTime now) {
  std::vector<std::string> forgotten;
  std::lock_guard lock(mutex_);
  std::erase_if(islands_, [&](const auto& entry) {
    if (now - entry.second.refreshed < ttl_) return false;
    forgotten.push_back(entry.first);
    return true;
  });
  return forgotten;
}

std::optional<RemoteRoute> RemoteIslands::route(const std::string& figure) const {
  std::lock_guard lock(mutex_);
  for (const auto& [name, entry] : islands_) {
    const auto& catalogue = entry.catalogue;
    if (!std::binary_search(catalogue.figures.begin(), catalogue.figures.end(), figure)) continue;
    RemoteRoute route{name, {}};
    if (!catalogue.bridge.empty()) route.gateways.push_back(catalogue.bridge);
    for (const auto& gateway : catalogue.gateways) {
      if (gateway != catalogue.bridge) route.gateways.push_back(gateway);
    }
    return route;  // with no gateway left to ask: the caller answers 503, not 404
  }
  return std::nullopt;
}

std::vector<IslandCatalogue> RemoteIslands::islands() const {
  std::lock_guard lock(mutex_);
  std::vector<IslandCatalogue> out;
  for (const auto& [name, entry] : islands_) out.push_back(entry.catalogue);
  return out;
}

}  // namespace isla::gateway
