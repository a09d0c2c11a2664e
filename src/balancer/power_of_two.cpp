#include "balancer/power_of_two.hpp"

#include "balancer/load.hpp"

namespace isla::balancer {

std::optional<BackendId> PowerOfTwoPicker::pick(std::optional<std::string_view>) {
  candidates_.clear();
  for (const Backend& backend : backends().backends()) {
    if (backend.pickable()) candidates_.push_back(&backend);
  }
  if (candidates_.empty()) return std::nullopt;
  if (candidates_.size() == 1) return candidates_.front()->id;
  const auto first = random_.below(candidates_.size());
  auto second = random_.below(candidates_.size() - 1);
  if (second >= first) ++second;  // distinct, and still uniform over the others
  const Backend& a = *candidates_[first];
  const Backend& b = *candidates_[second];
  // On a tie the first draw wins, which is itself random.
  return compare_load(b, a) < 0 ? b.id : a.id;
}

}  // namespace isla::balancer
