#include "balancer/picker_factory.hpp"

#include "balancer/least_connections.hpp"
#include "balancer/power_of_two.hpp"
#include "balancer/round_robin.hpp"

namespace isla::balancer {

std::unique_ptr<Picker> make_picker(Algorithm algorithm, BackendSet& backends, core::Random& random,
                                    ConsistentHashOptions hashing) {
  switch (algorithm) {
    case Algorithm::round_robin:
      return std::make_unique<RoundRobinPicker>(backends);
    case Algorithm::least_connections:
      return std::make_unique<LeastConnectionsPicker>(backends, random);
    case Algorithm::power_of_two:
      return std::make_unique<PowerOfTwoPicker>(backends, random);
    case Algorithm::consistent_hash:
      return std::make_unique<ConsistentHashPicker>(backends, random, std::move(hashing));
  }
  return nullptr;
}

}  // namespace isla::balancer
