#pragma once
// Membership datagrams (docs/api.md#datagrams): one JSON object per UDP datagram, at most
// 1200 bytes, preceded by a line that carries the HMAC-SHA256 of the JSON when the island
// has a secret:  "isla1 <hex mac or ->\n{...}".
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.hpp"

namespace isla::membership {

// A datagram naming more figures is dropped; one that fits in 1200 bytes holds at most
// about this many short names anyway.
inline constexpr std::size_t kMaxFiguresPerDatagram = 64;
// Gossip piggybacked on one datagram; a datagram carrying more is dropped, and encode() leaves
// out the entries past this (or past what fits in the size limit) instead of failing.
inline constexpr std::size_t kMaxGossipPerDatagram = 8;
// 100 % per core; more than this many cores' worth is a lie, not a load.
inline constexpr std::uint32_t kMaxCpuPercent = 100 * 1024;

// hello/heartbeat/welcome/bye: piece servers announcing themselves to gateways (and gateways
// carrying gossip in a heartbeat). ping/ack/ping_req/nack: the gateways' failure detector.
enum class DatagramType { hello, heartbeat, welcome, bye, ping, ack, ping_req, nack };

struct Load {
  std::uint32_t in_flight = 0;
  std::uint64_t served = 0;
  std::uint32_t queue_delay_ms = 0;  // how long new requests wait before they start
  std::uint32_t p99_ms = 0;          // recent 99th percentile of request latency
  std::uint32_t cpu_percent = 0;     // 100 per busy core, at most kMaxCpuPercent
  std::uint32_t capacity = 0;        // a gateway's --max-inflight; 0 = no limit
  bool saturated = false;            // a gateway over its limits: forward nothing to it
  friend bool operator==(const Load&, const Load&) = default;
};

// A member's state as the failure detector sees it (SWIM, with a clean leave).
enum class MemberState { alive, suspect, dead, left };

// One membership update carried as gossip.
struct GossipEntry {
  std::string node;  // HOST:PORT of the member it is about
  MemberState state = MemberState::alive;
  std::uint64_t incarnation = 0;
  // suspect only, and required there: who suspects, so that independent confirmations can
  // be counted.
  std::string from;
  // alive only: the member's load when it made the update. Swim sends none (every datagram's
  // header carries its sender's load, and room is better spent on membership news: with
  // loads, four or five entries fit in a datagram instead of eight) but applies it.
  std::optional<Load> load;
  friend bool operator==(const GossipEntry&, const GossipEntry&) = default;
};

struct Datagram {
  DatagramType type = DatagramType::heartbeat;
  std::string node;  // the sender's HTTP address, HOST:PORT; UDP uses the same address
  std::string role;  // "pieces" or "gateway"
  // The sender's island. Empty only in a hello from a piece server that has not been
  // welcomed yet: it learns the island from the gateway's welcome.
  std::string island;
  std::uint64_t incarnation = 0;  // changes when the sender restarts
  std::uint64_t seq = 0;          // per-sender sequence number
  std::uint64_t ack = 0;          // welcome only: the seq it answers
  std::uint64_t ts = 0;           // the sender's wall clock when sent, ms since the Unix epoch
  bool draining = false;          // the sender is leaving: route nothing new to it
  std::vector<std::string> figures;
  // welcome, in a partitioned island only: the figures the piece server is to hold (its
  // share of the catalogue, plus those it must keep until their new owners hold them).
  // Absent: the piece server serves the figures it was started with.
  std::optional<std::vector<std::string>> assigned;
  Load load;
  // The failure detector's fields. ping, ack, ping_req and nack carry the probe id they
  // belong to (never 0). ping_req and nack name the member probed on the requester's
  // behalf; an ack that names one is relayed: its sender heard from `target`.
  std::uint64_t probe = 0;
  std::string target;
  std::vector<GossipEntry> gossip;  // freshest first
  friend bool operator==(const Datagram&, const Datagram&) = default;
};

const char* to_string(DatagramType type);
const char* to_string(MemberState state);

// The wall clock in ms since the Unix epoch, as senders put it in `ts`.
inline std::uint64_t wall_clock_ms() {
  return static_cast<std::uint64_t>(core::wall_clock_ms());
}

// Encodes; returns nullopt when the result would exceed the datagram size limit even without
// gossip. Gossip entries that do not fit are left out, last ones first.
std::optional<std::string> encode(const Datagram& datagram, std::string_view secret);

struct Decoded {
  std::optional<Datagram> datagram;
  std::string rejection;  // why it was dropped, for logs and the drop counter's label
};

// The framing and signature alone, for other datagrams signed with the island secret (the
// balancer pair's heartbeats): "isla1 <hex HMAC-SHA256 of body, or - without a secret>\n"
// then the body. unseal() checks the size limit and the signature (required when `secret` is
// non-empty) and returns the body, or why it refused.
std::string seal(std::string_view body, std::string_view secret);
struct Unsealed {
  std::optional<std::string_view> body;  // points into the bytes given
  std::string rejection;                 // "too_large", "bad_magic", "no_body", "bad_signature"
};
Unsealed unseal(std::string_view bytes, std::string_view secret);

// Decodes and checks the signature (required when `secret` is non-empty) and every field.
Decoded decode(std::string_view bytes, std::string_view secret);

}  // namespace isla::membership
