#include "balancer/pair/pair_status.hpp"

#include <boost/json.hpp>

namespace isla::balancer::pair {

const char* to_string(PairRole role) {
  switch (role) {
    case PairRole::starting:
      return "starting";
    case PairRole::standby:
      return "standby";
    case PairRole::taking_over:
      return "taking_over";
    case PairRole::active:
      return "active";
  }
  return "unknown";
}

boost::json::object to_json(const PairStatus& status) {
  boost::json::object dropped;
  for (const auto& [reason, count] : status.dropped) dropped[reason] = count;
  boost::json::object out{{"self", status.self},
                          {"peer", status.peer},
                          {"priority", status.priority},
                          {"announced_priority", status.announced_priority},
                          {"role", to_string(status.role)},
                          {"term", status.term},
                          {"round", status.term_round},
                          {"holds_address", status.holds_address},
                          {"address", status.address},
                          {"peer_alive", status.peer_alive},
                          {"lease", status.lease},
                          {"last_change_ms", status.last_change_ms},
                          {"takeovers", status.takeovers},
                          {"releases", status.releases},
                          {"beats_sent", status.beats_sent},
                          {"beats_received", status.beats_received},
                          {"dropped", std::move(dropped)}};
  out["leader"] = status.leader ? boost::json::value(*status.leader) : boost::json::value(nullptr);
  if (status.peer_heard_ms_ago) out["peer_heard_ms_ago"] = *status.peer_heard_ms_ago;
  if (status.peer_holds) out["peer_holds"] = *status.peer_holds;
  if (status.store_reachable) out["store_reachable"] = *status.store_reachable;
  if (!status.term_file_problem.empty()) out["term_file_problem"] = status.term_file_problem;
  return out;
}

}  // namespace isla::balancer::pair
