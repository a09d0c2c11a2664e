#include "balancer/round_robin.hpp"

namespace isla::balancer {

std::optional<BackendId> RoundRobinPicker::pick(std::optional<std::string_view>) {
  const auto& all = backends().backends();
  if (generation_ != backends().generation()) {
    scores_.assign(all.size(), 0);
    generation_ = backends().generation();
  }
  std::int64_t total = 0;
  std::optional<std::size_t> best;
  for (std::size_t i = 0; i < all.size(); ++i) {
    if (!all[i].pickable()) continue;
    scores_[i] += all[i].weight;
    total += all[i].weight;
    if (!best || scores_[i] > scores_[*best]) best = i;
  }
  if (!best) return std::nullopt;
  scores_[*best] -= total;
  return all[*best].id;
}

}  // namespace isla::balancer
