#pragma once
// Where a figure request is served: here, by a less loaded peer, or nowhere (503). Pure: the
// loads and peers are passed in, so that the choice is tested without sockets.
#include <chrono>
#include <optional>

#include "core/random.hpp"
#include "gateway/peers.hpp"

namespace isla::gateway {

struct OverloadOptions {
  // Figure requests this gateway serves at once before it forwards new ones; 0 = no limit.
  std::size_t max_inflight = 0;
  // Forward new requests while the event loops run ready work this late; 0 = not checked.
  std::chrono::milliseconds max_queue_delay{0};
  // A request forwarded this many times is served where it is, or refused if that gateway
  // is saturated too: forwarding cannot loop, and a saturated island answers 503 quickly.
  int max_hops = 2;
};

enum class Placement { local, forward, refuse };

struct PlacementDecision {
  Placement placement = Placement::local;
  const PeerView* peer = nullptr;  // for forward: points into the snapshot passed in
};

// Whether a gateway serving `in_flight` requests, whose loops run `queue_delay` late, is over
// the limits of `options`.
bool saturated(const OverloadOptions& options, std::size_t in_flight,
               std::chrono::milliseconds queue_delay);

// `hops`: how many gateways forwarded the request already. `draining`: this gateway is
// leaving and hands new work to its peers while any takes it. `avoid`: peers already tried.
PlacementDecision place(bool local_saturated, bool draining, int hops, int max_hops,
                        const PeerSnapshot& peers, const std::vector<std::string>& avoid,
                        core::Random& random);

// The least loaded peer that takes requests, skipping `avoid`; ties broken at random.
const PeerView* least_loaded(const PeerSnapshot& peers, const std::vector<std::string>& avoid,
                             core::Random& random);

}  // namespace isla::gateway
