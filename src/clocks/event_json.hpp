#pragma once
// The event log's JSON: what GET /api/events/log returns,
//   {"events":[{"id","node","kind","detail","lamport","vector":{"node":n},"wall_ms","after":[ids]}]}
// and the strict decoders for events and stamps that other nodes send.
#include <boost/json.hpp>
#include <optional>
#include <span>
#include <string>

#include "clocks/event.hpp"

namespace isla::clocks {

inline constexpr std::size_t kMaxKindBytes = 64;
inline constexpr std::size_t kMaxDetailBytes = 4096;  // serialized

boost::json::object to_json(const Event& event);
boost::json::object to_json(std::span<const Event> events);  // {"events":[...]}
boost::json::object to_json(const Stamp& stamp);             // {"lamport","vector"}

struct DecodedEvent {
  std::optional<Event> event;
  std::string rejection;
};
// An event from another node's log: its own id and `after` are that log's and are dropped.
DecodedEvent event_from_json(const boost::json::value& value,
                             std::size_t max_clock_entries = kMaxClockEntries);

struct DecodedStamp {
  std::optional<Stamp> stamp;
  std::string rejection;
};
DecodedStamp stamp_from_json(const boost::json::value& value,
                             std::size_t max_clock_entries = kMaxClockEntries);

}  // namespace isla::clocks
