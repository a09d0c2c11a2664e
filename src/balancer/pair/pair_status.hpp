#pragma once
// What a pair member says about itself on /api/status and /metrics.
#include <boost/json/object.hpp>
#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "election/term.hpp"

namespace isla::balancer::pair {

enum class PairRole {
  starting,     // not decided yet: listening for the peer before competing
  standby,      // another member leads (or none is known); holds nothing
  taking_over,  // leads, waiting for the peer to let go of the address or for the store lease
  active,       // leads and holds the service address
};

const char* to_string(PairRole role);

struct PairStatus {
  std::string self;  // this member's heartbeat address
  std::string peer;
  std::uint32_t priority = 0;            // as configured
  std::uint32_t announced_priority = 0;  // 0 while it stands aside, cut from the store
  PairRole role = PairRole::starting;
  election::Term term = 0;            // the highest term known; while active, the one it leads
  std::uint64_t term_round = 0;       // election::round_of(term), the human-sized number
  std::optional<std::string> leader;  // the leader of `term`, when known
  bool holds_address = false;
  std::string address;  // ServiceAddress::describe()
  bool peer_alive = false;
  std::optional<std::int64_t> peer_heard_ms_ago;
  std::optional<bool> peer_holds;       // as the peer's last datagram said
  std::string lease = "off";            // off, pending, held, lost, unavailable
  std::optional<bool> store_reachable;  // with a store lease: whether this member reaches it
  std::int64_t last_change_ms = 0;      // wall clock of the last role change, ms since the epoch
  std::uint64_t takeovers = 0;          // times this member claimed the address
  std::uint64_t releases = 0;           // times it let go of it
  std::uint64_t beats_sent = 0;
  std::uint64_t beats_received = 0;
  std::map<std::string, std::uint64_t> dropped;  // datagrams dropped, by reason
  std::string term_file_problem;                 // the term file did not parse at start
};

boost::json::object to_json(const PairStatus& status);

}  // namespace isla::balancer::pair
