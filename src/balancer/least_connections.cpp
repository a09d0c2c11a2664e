#include "balancer/least_connections.hpp"

#include "balancer/load.hpp"

namespace isla::balancer {

std::optional<BackendId> LeastConnectionsPicker::pick(std::optional<std::string_view>) {
  const Backend* best = nullptr;
  std::uint64_t ties = 0;
  for (const Backend& backend : backends().backends()) {
    if (!backend.pickable()) continue;
    const auto order = best ? compare_load(backend, *best) : std::strong_ordering::less;
    if (order == std::strong_ordering::less) {
      best = &backend;
      ties = 1;
    } else if (order == std::strong_ordering::equal && random_.below(++ties) == 0) {
      // Reservoir sampling: each of the k tied backends ends up chosen with chance 1/k.
      best = &backend;
    }
  }
  if (!best) return std::nullopt;
  return best->id;
}

}  // namespace isla::balancer
