#pragma once
// GET /api/events/log: a gateway's causal event log, or its island's (docs/api.md).
#include <functional>
#include <string>
#include <vector>

#include "clocks/event_log.hpp"
#include "core/endpoint.hpp"
#include "net/http_client.hpp"
#include "net/router.hpp"

namespace isla::gateway {

// Events a gateway's own log keeps.
inline constexpr std::size_t kEventLogCapacity = 1000;

struct EventLogSource {
  const clocks::EventLog& events;
  const net::HttpClient& client;  // signed: asks the island's other gateways for theirs
  std::string address;
  std::uint64_t incarnation;  // the gateway's start: ids begin again at 1 after a restart
  std::function<std::vector<core::Endpoint>()> live_peers;
};

// The source must outlive the router.
void add_event_log_routes(net::Router& router, EventLogSource source);

}  // namespace isla::gateway
