#pragma once
// Sends a client's request on to a peer gateway (saturation forwarding, and the hand-off of
// a draining gateway) and brings back its answer. The request carries Isla-Hops so that no
// request travels more than OverloadOptions::max_hops gateways.
#include <prometheus/counter.h>

#include <optional>

#include "core/random.hpp"
#include "gateway/peers.hpp"
#include "net/asio.hpp"
#include "net/http_client.hpp"
#include "net/http_types.hpp"

namespace isla::gateway {

// Names, on a forwarded answer, the gateway that served it (for clients, logs and tests).
inline constexpr std::string_view kForwardedToHeader = "Isla-Forwarded-To";

// On a request to another island's gateway: serve it from your own island, never from a
// third one (islands forward at most one island further).
inline constexpr std::string_view kScopeHeader = "Isla-Scope";

// The hops a request has made already (its Isla-Hops header; absent or garbled: 0).
int hops_of(const net::HttpRequest& request);

class PeerForwarder {
 public:
  // `client` signs with the island secret: a peer knows the request came from a gateway.
  explicit PeerForwarder(net::HttpClient client) : client_(std::move(client)) {}

  // The peer's answer, or nullopt when the peer could not be reached or did not answer
  // before the request's deadline (the caller then tries another peer, or serves it itself).
  // `extra` headers go with it (Isla-Scope for another island's gateway).
  asio::awaitable<std::optional<net::HttpResponse>> forward(const core::Endpoint& peer,
                                                            const net::HttpRequest& request,
                                                            net::Headers extra = {}) const;

 private:
  net::HttpClient client_;
};

}  // namespace isla::gateway
