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

enum class DatagramType { hello, heartbeat, welcome, bye };

struct Load {
  std::uint32_t in_flight = 0;
  std::uint64_t served = 0;
  friend bool operator==(const Load&, const Load&) = default;
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
  Load load;
  friend bool operator==(const Datagram&, const Datagram&) = default;
};

const char* to_string(DatagramType type);

// The wall clock in ms since the Unix epoch, as senders put it in `ts`.
inline std::uint64_t wall_clock_ms() {
  return static_cast<std::uint64_t>(core::wall_clock_ms());
}

// Encodes; returns nullopt when the result would exceed the datagram size limit.
std::optional<std::string> encode(const Datagram& datagram, std::string_view secret);

struct Decoded {
  std::optional<Datagram> datagram;
  std::string rejection;  // why it was dropped, for logs and the drop counter's label
};

// Decodes and checks the signature (required when `secret` is non-empty) and every field.
Decoded decode(std::string_view bytes, std::string_view secret);

}  // namespace isla::membership
