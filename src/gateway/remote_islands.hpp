#pragma once
// What this gateway knows of other islands: their catalogues as their bridges last told
// ours, kept for `ttl` after the last refresh so that a bridge's death (a new one is elected
// within 2 s) does not make remote figures vanish. Thread-safe: the bridge loop writes,
// request paths read.
#include <chrono>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "core/clock.hpp"
#include "gateway/island_catalogue.hpp"

namespace isla::gateway {

inline constexpr std::size_t kMaxRemoteIslands = 64;

struct RemoteRoute {
  std::string island;
  std::vector<std::string> gateways;  // its bridge first, then its other gateways
};

class RemoteIslands {
 public:
  RemoteIslands(std::string local_island, std::chrono::milliseconds ttl)
      : local_island_(std::move(local_island)), ttl_(ttl) {}

  // Returns true when what requests may be routed to changed. Our own island and islands
  // beyond kMaxRemoteIslands are ignored.
  bool update(IslandCatalogue catalogue, core::SteadyTime now);
  // A gateway of `island` said bye: no request goes to it any more.
  bool remove_gateway(const std::string& island, const std::string& gateway);
  // Forgets islands not refreshed within the ttl; returns the names forgotten.
  std::vector<std::string> expire(core::SteadyTime now);

  // Where a figure that no local piece server holds can be asked for; nullopt: no island we
  // know of holds it. The gateways may be empty: every one of them said bye.
  std::optional<RemoteRoute> route(const std::string& figure) const;
  std::vector<IslandCatalogue> islands() const;

 private:
  struct Entry {
    IslandCatalogue catalogue;
    core::SteadyTime refreshed;
  };

  std::string local_island_;
  std::chrono::milliseconds ttl_;
  mutable std::mutex mutex_;
  std::map<std::string, Entry> islands_;
};

}  // namespace isla::gateway
