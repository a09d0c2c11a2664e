#pragma once
// The balancing algorithms behind the one Picker seam, chosen by name at start-up.
#include <memory>

#include "balancer/consistent_hash.hpp"
#include "balancer/picker.hpp"
#include "core/random.hpp"

namespace isla::balancer {

enum class Algorithm { round_robin, least_connections, power_of_two, consistent_hash };

// `random` breaks ties and draws candidates; it must outlive the picker, as must `backends`.
std::unique_ptr<Picker> make_picker(Algorithm algorithm, BackendSet& backends, core::Random& random,
                                    ConsistentHashOptions hashing = {});

}  // namespace isla::balancer
