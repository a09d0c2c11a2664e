#pragma once
// Consistent hashing on the request's affinity key (a session cookie or header), so that a
// conversation keeps landing on the same gateway while that gateway is there.
// The ring itself (core::HashRing) is shared with the partitioned figure catalogue; see
// core/hash_ring.hpp for why a ring with virtual nodes. Here, when the key's backend is down
// or ejected, the key goes to the next backend clockwise, and comes back when it recovers.
//
// Points are placed by hashing "host:port#i", not the backend's id: the two balancers of a
// pair, or a balancer after a restart, build the same ring from the same backends, so
// affinity survives a failover.
#include <cstdint>
#include <functional>
#include <string_view>
#include <utility>
#include <vector>

#include "balancer/picker.hpp"
#include "core/hash_ring.hpp"
#include "core/random.hpp"

namespace isla::balancer {

using KeyHash = core::KeyHash;

struct ConsistentHashOptions {
  int points_per_weight = 160;  // ring points per unit of a backend's weight
  KeyHash hash;                 // of keys and points; empty: core::spread_hash (stable)
};

class ConsistentHashPicker final : public BackendSetPicker {
 public:
  // `random` places requests that carry no key: they spread as if each had its own.
  ConsistentHashPicker(BackendSet& backends, core::Random& random,
                       ConsistentHashOptions options = {});

  std::optional<BackendId> pick(std::optional<std::string_view> key) override;

 private:
  void rebuild();

  ConsistentHashOptions options_;
  core::Random& random_;
  core::HashRing ring_;
  std::uint64_t generation_ = ~std::uint64_t{0};
};

}  // namespace isla::balancer
