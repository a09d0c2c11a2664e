#include "gateway/overload_policy.hpp"

#include <algorithm>

namespace isla::gateway {

namespace {

// Comparable across gateways with different limits: a peer at 30 of 32 is busier than one
// at 40 with no limit at all only if we know its limit, so limited peers count by fraction.
double busyness(const GatewayLoad& load) {
  if (load.capacity > 0) {
    return static_cast<double>(load.in_flight) / static_cast<double>(load.capacity) * 1000.0;
  }
  return static_cast<double>(load.in_flight);
}

}  // namespace

bool saturated(const OverloadOptions& options, std::size_t in_flight,
               std::chrono::milliseconds queue_delay) {
  if (options.max_inflight > 0 && in_flight >= options.max_inflight) return true;
  return options.max_queue_delay.count() > 0 && queue_delay >= options.max_queue_delay;
}

const PeerView* least_loaded(const PeerSnapshot& peers, const std::vector<std::string>& avoid,
                             core::Random& random) {
  const PeerView* best = nullptr;
  double best_busyness = 0;
  std::uint64_t ties = 0;
  for (const auto& peer : peers.peers) {
    if (!peer.takes_requests()) continue;
    if (std::find(avoid.begin(), avoid.end(), peer.address) != avoid.end()) continue;
    const double busy = busyness(peer.load);
    if (best == nullptr || busy < best_busyness) {
      best = &peer;
      best_busyness = busy;
      ties = 1;
    } else if (busy == best_busyness && random.below(++ties) == 0) {
      best = &peer;  // reservoir choice: each tied peer equally likely
    }
  }
  return best;
}

PlacementDecision place(bool local_saturated, bool draining, int hops, int max_hops,
                        const PeerSnapshot& peers, const std::vector<std::string>& avoid,
                        core::Random& random) {
  const bool may_forward = hops < max_hops;
  if (draining) {
    // Leaving: whatever a peer can take goes there; the rest is still ours to answer.
    if (may_forward) {
      if (const auto* peer = least_loaded(peers, avoid, random)) {
        return {Placement::forward, peer};
      }
    }
    return {Placement::local, nullptr};
  }
  if (!local_saturated) return {Placement::local, nullptr};
  if (may_forward) {
    if (const auto* peer = least_loaded(peers, avoid, random)) return {Placement::forward, peer};
  }
  return {Placement::refuse, nullptr};
}

}  // namespace isla::gateway
