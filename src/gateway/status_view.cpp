#include "gateway/status_view.hpp"

namespace isla::gateway {

namespace json = boost::json;

namespace {

json::array strings(const std::vector<std::string>& values) {
  json::array out;
  for (const auto& value : values) out.emplace_back(value);
  return out;
}

}  // namespace

json::array servers_json(const std::vector<ServerView>& servers) {
  json::array out;
  for (const auto& server : servers) {
    out.push_back({{"address", server.address},
                   {"state", to_string(server.state)},
                   {"figures", strings(server.figures)},
                   {"outstanding", server.outstanding},
                   {"answered", server.answered},
                   {"load", {{"in_flight", server.load.in_flight}, {"served", server.load.served}}},
                   {"last_seen_ms", server.last_seen_ms},
                   {"incarnation", server.incarnation}});
  }
  return out;
}

json::array departed_json(const std::vector<DepartedView>& departed) {
  json::array out;
  for (const auto& gone : departed) {
    out.push_back({{"address", gone.address},
                   {"reason", gone.reason},
                   {"figures", strings(gone.figures)},
                   {"since_ms", gone.since_ms}});
  }
  return out;
}

json::object load_json(const GatewayLoad& load) {
  return {{"in_flight", load.in_flight},           {"capacity", load.capacity},
          {"queue_delay_ms", load.queue_delay_ms}, {"p99_ms", load.p99_ms},
          {"cpu_percent", load.cpu_percent},       {"saturated", load.saturated}};
}

json::array peers_json(const PeerSnapshot& peers) {
  json::array out;
  for (const auto& peer : peers.peers) {
    out.push_back({{"address", peer.address},
                   {"state", peer.state},
                   {"incarnation", peer.incarnation},
                   {"draining", peer.draining},
                   {"last_contact_ms", peer.last_contact_ms},
                   {"load", load_json(peer.load)}});
  }
  return out;
}

}  // namespace isla::gateway
