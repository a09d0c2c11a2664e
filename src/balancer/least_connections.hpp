#pragma once
// Least connections: the pickable backend with the fewest requests in flight per unit of
// weight (load.hpp). Ties are broken at random, so that idle backends after a quiet spell
// are not all handed the next burst in the set's order.
#include "balancer/picker.hpp"
#include "core/random.hpp"

namespace isla::balancer {

class LeastConnectionsPicker final : public BackendSetPicker {
 public:
  LeastConnectionsPicker(BackendSet& backends, core::Random& random)
      : BackendSetPicker(backends), random_(random) {}

  std::optional<BackendId> pick(std::optional<std::string_view> key) override;

 private:
  core::Random& random_;
};

}  // namespace isla::balancer
