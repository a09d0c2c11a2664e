#pragma once
// Power of two choices (Mitzenmacher): two distinct pickable backends drawn at random, the
// less loaded of them (load.hpp) wins. Nearly as even as least connections, without every
// pick going to the same momentarily idlest backend when several balancers share the
// backends or the counts lag.
#include <vector>

#include "balancer/picker.hpp"
#include "core/random.hpp"

namespace isla::balancer {

class PowerOfTwoPicker final : public BackendSetPicker {
 public:
  PowerOfTwoPicker(BackendSet& backends, core::Random& random)
      : BackendSetPicker(backends), random_(random) {}

  std::optional<BackendId> pick(std::optional<std::string_view> key) override;

 private:
  core::Random& random_;
  std::vector<const Backend*> candidates_;  // kept between picks to spare an allocation
};

}  // namespace isla::balancer
