#include "observability/node_status.hpp"

#include <cmath>

namespace isla::observability {

boost::json::object node_status(const NodeIdentity& identity, const RequestTotals& requests) {
  const std::chrono::duration<double> uptime = std::chrono::steady_clock::now() - identity.started;
  return {{"node", identity.node},
          {"role", identity.role},
          {"island", identity.island},
          {"state", identity.draining ? "draining" : "serving"},
          {"uptime_s", std::round(uptime.count() * 10) / 10},
          {"version", ISLA_VERSION},
          {"requests",
           {{"in_flight", requests.in_flight},
            {"total", requests.total},
            {"failed", requests.failed}}}};
}

}  // namespace isla::observability
