#pragma once
// Consistent hashing on the request's affinity key (a session cookie or header), so that a
// conversation keeps landing on the same gateway while that gateway is there.
//
// Why a hash ring with virtual nodes (Karger; Ketama's layout) rather than Maglev or jump
// hash: the ring is the one of the three where a backend leaving moves only the keys it held
// (about 1/N of them) and a backend joining takes keys only for itself. Maglev's table refill
// also shuffles a few keys between backends that stayed, and jump hash can only drop the last
// bucket, not any backend. The ring also gives the fallback for free: when the key's backend
// is down or ejected, the key goes to the next backend clockwise, and comes back when it
// recovers. The price is a less even spread (about ±10 % with 160 points per unit of weight)
// and a binary search per pick.
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
#include "core/random.hpp"

namespace isla::balancer {

using KeyHash = std::function<std::uint64_t(std::string_view)>;

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
  std::vector<std::pair<std::uint64_t, BackendId>> ring_;  // sorted by point
  std::uint64_t generation_ = ~std::uint64_t{0};
};

}  // namespace isla::balancer
