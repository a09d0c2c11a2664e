#pragma once
// GET /api/balancers' body: what the island's balancers say about themselves in their admin
// /api/status, cut down to what the dashboard shows (role, term, the backends' health). The
// balancers' answers are untrusted input: anything malformed becomes an "invalid" entry.
#include <boost/json.hpp>
#include <string>
#include <string_view>

namespace isla::gateway {

// One balancer that answered with `body` (its admin /api/status).
boost::json::object summarise_balancer(const std::string& admin, std::string_view body);

// One balancer that did not answer (connect refused, timeout, an error status).
boost::json::object unreachable_balancer(const std::string& admin, const std::string& why);

// The route's body: the summaries, and the active one (its admin address and term; null when
// none is active).
boost::json::object balancers_view(boost::json::array summaries);

}  // namespace isla::gateway
