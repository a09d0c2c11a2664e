#pragma once
// The gateway's parts of GET /api/status: its piece servers, live and departed.
#include <boost/json.hpp>

#include "gateway/routing_table.hpp"

namespace isla::gateway {

boost::json::array servers_json(const std::vector<ServerView>& servers);
boost::json::array departed_json(const std::vector<DepartedView>& departed);

}  // namespace isla::gateway
