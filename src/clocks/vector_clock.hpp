#pragma once
// Vector clocks: one counter per node, so that two events' clocks say whether one happened
// before the other or they are concurrent (Lamport time alone cannot). A node increments its
// own entry at each event and merges (pointwise max) the clock a message carries.
//
// A plain value, not thread-safe (EventLog holds one under its lock).
#include <boost/json.hpp>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace isla::clocks {

enum class CausalOrder { before, after, equal, concurrent };

const char* to_string(CausalOrder order);

// A decoded clock with more entries than this is refused: an island is a few dozen nodes,
// and a clock is carried in datagrams.
inline constexpr std::size_t kMaxClockEntries = 256;
// Node names are ids, HOST:PORT: "[" + 253-byte host + "]:65535".
inline constexpr std::size_t kMaxClockNodeBytes = 262;

class VectorClock {
 public:
  // Absent entries count as 0; a 0 is never stored, so equal clocks have equal entries.
  using Entries = std::map<std::string, std::uint64_t, std::less<>>;

  VectorClock() = default;
  explicit VectorClock(Entries entries);

  std::uint64_t at(std::string_view node) const;
  const Entries& entries() const { return entries_; }
  std::size_t size() const { return entries_.size(); }

  // `node`'s event; returns the new count.
  std::uint64_t increment(const std::string& node);
  // Pointwise maximum.
  void merge(const VectorClock& other);
  // How this clock's event stands to `other`'s.
  CausalOrder compare(const VectorClock& other) const;
  bool happened_before(const VectorClock& other) const {
    return compare(other) == CausalOrder::before;
  }

  friend bool operator==(const VectorClock&, const VectorClock&) = default;

 private:
  Entries entries_;
};

// {"node": count, ...}
boost::json::object to_json(const VectorClock& clock);

struct DecodedClock {
  std::optional<VectorClock> clock;
  std::string rejection;  // "not_an_object", "too_many_entries", "bad_node", "bad_count"
};

// Strict: an object of at most `max_entries` node names (1-262 printable ASCII bytes) to
// counts from 1 up (a 0 is never written, so one is refused as malformed).
DecodedClock clock_from_json(const boost::json::value& value,
                             std::size_t max_entries = kMaxClockEntries);

}  // namespace isla::clocks
