#pragma once
// One entry of the causal event log (event_log.hpp), and the clocks a message carries.
#include <boost/json.hpp>
#include <cstdint>
#include <string>
#include <vector>

#include "clocks/vector_clock.hpp"

namespace isla::clocks {

// The sender's clocks at its send event, carried by the message so the receiver can merge.
struct Stamp {
  std::uint64_t lamport = 0;
  VectorClock vector;
  friend bool operator==(const Stamp&, const Stamp&) = default;
};

struct Event {
  std::uint64_t id = 0;       // this log's number for it: 1, 2, ... in the order recorded
  std::string node;           // where it happened (its entry in the vector clocks)
  std::string kind;           // e.g. "leader_changed", "member_joined", "route_added"
  boost::json::value detail;  // a string or an object
  std::uint64_t lamport = 0;
  VectorClock vector;
  std::int64_t wall_ms = 0;  // the recording node's wall clock: for people, never for order
  // The ids, in this log, of its immediate causal predecessors: for each node, that node's
  // latest event in the log that happened before this one (the dashboard's arrows). Filled by
  // EventLog::causal_order() and since().
  std::vector<std::uint64_t> after;

  Stamp stamp() const { return {lamport, vector}; }
};

}  // namespace isla::clocks
