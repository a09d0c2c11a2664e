#pragma once
// Backend sets and a load simulation for the balancer's unit tests.
#include <algorithm>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "balancer/backend_set.hpp"
#include "balancer/picker.hpp"
#include "core/random.hpp"

namespace isla::balancer::testing {

inline core::Endpoint endpoint(int n) {
  return {"127.0.2." + std::to_string(n), 5235};
}

// Backends endpoint(1)..endpoint(weights.size()), with these weights; returns their ids.
inline std::vector<BackendId> add_backends(BackendSet& set, const std::vector<int>& weights) {
  std::vector<BackendId> ids;
  for (std::size_t i = 0; i < weights.size(); ++i) {
    ids.push_back(set.add(endpoint(static_cast<int>(i) + 1), weights[i]));
  }
  return ids;
}

inline std::vector<BackendId> add_backends(BackendSet& set, int count) {
  return add_backends(set, std::vector<int>(static_cast<std::size_t>(count), 1));
}

// How many of `picks` picks (without a key) went to each backend.
inline std::map<BackendId, int> count_picks(Picker& picker, int picks) {
  std::map<BackendId, int> counts;
  for (int i = 0; i < picks; ++i) {
    if (const auto id = picker.pick(std::nullopt)) ++counts[*id];
  }
  return counts;
}

struct LoadResult {
  std::map<BackendId, int> picks;  // requests given to each backend
  // The largest gap in requests in flight between two backends, seen after any step:
  // what a load-aware picker keeps small and a blind one lets drift.
  int max_imbalance = 0;
};

// Requests arrive `per_step` at a time for `steps` steps; each lasts 1 to 2×mean steps at
// random, where a backend's mean comes from `mean_steps` (a slow backend holds its requests
// longer).
inline LoadResult simulate_load(Picker& picker, const BackendSet& set, int steps, int per_step,
                                const std::function<int(BackendId)>& mean_steps,
                                std::uint64_t seed) {
  core::SeededRandom random(seed);
  std::multimap<int, BackendId> ends;  // step at which a running request ends
  LoadResult result;
  for (int step = 0; step < steps; ++step) {
    while (!ends.empty() && ends.begin()->first <= step) {
      picker.request_finished(ends.begin()->second);
      ends.erase(ends.begin());
    }
    for (int i = 0; i < per_step; ++i) {
      const auto id = picker.pick(std::nullopt);
      if (!id) continue;
      picker.request_started(*id);
      ++result.picks[*id];
      const auto longest = static_cast<std::uint64_t>(2 * mean_steps(*id));
      ends.emplace(step + 1 + static_cast<int>(random.below(longest)), *id);
    }
    const auto [least, most] = std::ranges::minmax(set.backends(), {}, &Backend::active_requests);
    result.max_imbalance =
        std::max(result.max_imbalance, most.active_requests - least.active_requests);
  }
  return result;
}

}  // namespace isla::balancer::testing
