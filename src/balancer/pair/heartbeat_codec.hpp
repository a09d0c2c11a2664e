#pragma once
// The balancer pair's datagrams (docs/api.md#balancer-pair-datagrams): one JSON object per UDP
// datagram, sealed with the island secret like the membership datagrams
// (membership::seal: "isla1 <HMAC>\n{...}"), carrying the sender's election messages and its
// state. Each side sends one at least every heartbeat_interval / beats_per_interval, so any of
// them is a sign of life; `holds` lets a node taking over wait until the other has let go of
// the address. Decoding validates strictly and names the reason for a refusal.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "election/election.hpp"

namespace isla::balancer::pair {

// At most this many election messages ride in one datagram (a node answers and declares
// itself coordinator in the same step: two).
inline constexpr std::size_t kMaxMessagesPerBeat = 4;

struct Heartbeat {
  std::string node;               // the sender's --heartbeat address, HOST:PORT
  std::uint32_t priority = 0;     // the sender's --priority
  std::uint64_t incarnation = 0;  // grows at every restart (its wall clock at start, ms)
  std::uint64_t seq = 0;          // per incarnation, for the replay window
  std::uint64_t ts = 0;           // the sender's wall clock when sent, ms since the epoch
  election::Term term = 0;        // the highest term the sender knows
  bool holds = false;             // the sender holds the service address right now
  bool leaving = false;           // the sender is stopping: take over now, do not wait for it
  std::vector<election::ElectionMessage> messages;
  friend bool operator==(const Heartbeat&, const Heartbeat&) = default;
};

// Sealed with `secret` (unsigned when it is empty: loopback development only). Messages past
// kMaxMessagesPerBeat are the caller's to send in another datagram.
std::string encode(const Heartbeat& beat, std::string_view secret);

struct DecodedBeat {
  std::optional<Heartbeat> beat;
  std::string rejection;  // e.g. "bad_signature", "bad_json", "bad_node", "foreign_message"
};

// Checks the seal (required when `secret` is non-empty), every field, and that each election
// message comes from the node that sent the datagram.
DecodedBeat decode(std::string_view bytes, std::string_view secret);

}  // namespace isla::balancer::pair
