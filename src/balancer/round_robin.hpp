#pragma once
// Smooth weighted round robin, as nginx does it: every pick, each pickable backend's running
// score grows by its weight, the highest score wins and gives back the sum of the weights.
// Weights 5,1,1 give a a b a c a a rather than a a a a a b c: a heavy backend's turns are
// spread out, not bunched. With equal weights it is plain round robin in the set's order.
#include <cstdint>
#include <vector>

#include "balancer/picker.hpp"

namespace isla::balancer {

class RoundRobinPicker final : public BackendSetPicker {
 public:
  using BackendSetPicker::BackendSetPicker;

  std::optional<BackendId> pick(std::optional<std::string_view> key) override;

 private:
  // Scores by position in the set, reset when its membership changes (as nginx's on reload).
  std::vector<std::int64_t> scores_;
  std::uint64_t generation_ = ~std::uint64_t{0};
};

}  // namespace isla::balancer
