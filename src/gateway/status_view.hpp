#pragma once
// The gateway's parts of GET /api/status: its piece servers, live and departed, its load and
// its peers.
#include <boost/json.hpp>

#include "gateway/peers.hpp"
#include "gateway/routing_table.hpp"

namespace isla::gateway {

boost::json::array servers_json(const std::vector<ServerView>& servers);
boost::json::array departed_json(const std::vector<DepartedView>& departed);
boost::json::object load_json(const GatewayLoad& load);
// The other gateways of the island as the failure detector sees them.
boost::json::array peers_json(const PeerSnapshot& peers);

}  // namespace isla::gateway
