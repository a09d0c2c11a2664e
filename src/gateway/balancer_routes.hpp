#pragma once
// GET /api/balancers: the island's balancers as they see themselves (docs/api.md), for the
// dashboard. A balancer that does not answer is listed as unreachable; the route never fails
// because of one.
#include <vector>

#include "core/endpoint.hpp"
#include "net/router.hpp"

namespace isla::gateway {

// How long one balancer's admin API gets to answer.
inline constexpr std::chrono::milliseconds kBalancerStatusTimeout{300};

// `admins`: the balancers' admin addresses (`--balancer-admin`); none: an empty list.
void add_balancer_routes(net::Router& router, std::vector<core::Endpoint> admins);

}  // namespace isla::gateway
