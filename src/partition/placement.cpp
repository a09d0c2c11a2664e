#include "partition/placement.hpp"

#include <algorithm>
#include <stdexcept>

namespace isla::partition {

Placement::Placement(std::vector<std::string> servers, PlacementOptions options)
    : options_(options),
      servers_(std::move(servers)),
      ring_(core::HashRingOptions{options.points_per_server, {}}) {
  if (options_.replicas < 1) throw std::invalid_argument("placement: replicas must be at least 1");
  std::ranges::sort(servers_);
  servers_.erase(std::unique(servers_.begin(), servers_.end()), servers_.end());
  for (std::size_t i = 0; i < servers_.size(); ++i) ring_.add(servers_[i], i);
}

std::vector<std::string> Placement::owners(std::string_view figure) const {
  std::vector<std::string> out;
  for (const auto index : ring_.distinct(ring_.hash(figure), options_.replicas)) {
    out.push_back(servers_[index]);
  }
  return out;
}

bool Placement::owns(std::string_view server, std::string_view figure) const {
  const auto all = owners(figure);
  return std::ranges::find(all, server) != all.end();
}

}  // namespace isla::partition
