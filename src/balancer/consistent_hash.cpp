#include "balancer/consistent_hash.hpp"

#include <stdexcept>

#include "core/stable_hash.hpp"

namespace isla::balancer {

ConsistentHashPicker::ConsistentHashPicker(BackendSet& backends, core::Random& random,
                                           ConsistentHashOptions options)
    : BackendSetPicker(backends),
      options_(std::move(options)),
      random_(random),
      ring_(core::HashRingOptions{options_.points_per_weight, options_.hash}) {
  if (!options_.hash) options_.hash = core::spread_hash;
}

std::optional<BackendId> ConsistentHashPicker::pick(std::optional<std::string_view> key) {
  if (generation_ != backends().generation()) rebuild();
  if (ring_.empty()) return std::nullopt;
  const std::uint64_t point = key ? options_.hash(*key) : random_.next();
  // Clockwise from the key's point, wrapping once round the ring, to the first pickable one.
  return ring_.first(point, [&](BackendId id) {
    const Backend* backend = backends().find(id);
    return backend && backend->pickable();
  });
}

void ConsistentHashPicker::rebuild() {
  ring_.clear();
  for (const Backend& backend : backends().backends()) {
    ring_.add(backend.endpoint.str(), backend.id, backend.weight);
  }
  generation_ = backends().generation();
}

}  // namespace isla::balancer
