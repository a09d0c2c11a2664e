#include "balancer/consistent_hash.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <stdexcept>

#include "core/stable_hash.hpp"

namespace isla::balancer {

ConsistentHashPicker::ConsistentHashPicker(BackendSet& backends, core::Random& random,
                                           ConsistentHashOptions options)
    : BackendSetPicker(backends), options_(std::move(options)), random_(random) {
  if (options_.points_per_weight < 1) {
    throw std::invalid_argument("consistent hash: points_per_weight must be at least 1");
  }
  if (!options_.hash) options_.hash = core::spread_hash;
}

std::optional<BackendId> ConsistentHashPicker::pick(std::optional<std::string_view> key) {
  if (generation_ != backends().generation()) rebuild();
  if (ring_.empty()) return std::nullopt;
  const std::uint64_t point = key ? options_.hash(*key) : random_.next();
  const auto start =
      std::ranges::lower_bound(ring_, point, {}, [](const auto& entry) { return entry.first; });
  // Clockwise from the key's point, wrapping once round the ring, to the first pickable one.
  const auto offset = static_cast<std::size_t>(start - ring_.begin());
  for (std::size_t step = 0; step < ring_.size(); ++step) {
    const BackendId id = ring_[(offset + step) % ring_.size()].second;
    const Backend* backend = backends().find(id);
    if (backend && backend->pickable()) return id;
  }
  return std::nullopt;
}

void ConsistentHashPicker::rebuild() {
  ring_.clear();
  for (const Backend& backend : backends().backends()) {
    const std::string name = backend.endpoint.str();
    const int points = options_.points_per_weight * backend.weight;
    for (int i = 0; i < points; ++i) {
      ring_.emplace_back(options_.hash(fmt::format("{}#{}", name, i)), backend.id);
    }
  }
  // Two equal 64-bit points are all but impossible; if they happen, the lower id comes first.
  std::ranges::sort(ring_);
  generation_ = backends().generation();
}

}  // namespace isla::balancer
