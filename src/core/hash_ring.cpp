#include "core/hash_ring.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <stdexcept>

#include "core/stable_hash.hpp"

namespace isla::core {

HashRing::HashRing(HashRingOptions options) : options_(std::move(options)) {
  if (options_.points_per_weight < 1) {
    throw std::invalid_argument("hash ring: points_per_weight must be at least 1");
  }
  if (!options_.hash) options_.hash = spread_hash;
}

void HashRing::add(std::string_view name, NodeId id, int weight) {
  const auto old_end = static_cast<std::ptrdiff_t>(points_.size());
  const int points = options_.points_per_weight * weight;
  for (int i = 0; i < points; ++i) {
    points_.emplace_back(options_.hash(fmt::format("{}#{}", name, i)), id);
  }
  std::sort(points_.begin() + old_end, points_.end());
  std::inplace_merge(points_.begin(), points_.begin() + old_end, points_.end());
}

std::optional<HashRing::NodeId> HashRing::first(std::uint64_t point,
                                                const std::function<bool(NodeId)>& accept) const {
  if (points_.empty()) return std::nullopt;
  const auto start =
      std::ranges::lower_bound(points_, point, {}, [](const auto& entry) { return entry.first; });
  const auto offset = static_cast<std::size_t>(start - points_.begin());
  for (std::size_t step = 0; step < points_.size(); ++step) {
    const NodeId id = points_[(offset + step) % points_.size()].second;
    if (accept(id)) return id;
  }
  return std::nullopt;
}

std::vector<HashRing::NodeId> HashRing::distinct(std::uint64_t point, std::size_t count) const {
  std::vector<NodeId> out;
  if (count == 0) return out;
  first(point, [&](NodeId id) {
    if (std::ranges::find(out, id) == out.end()) out.push_back(id);
    return out.size() >= count;
  });
  return out;
}

}  // namespace isla::core
