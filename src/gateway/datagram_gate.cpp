#include "gateway/datagram_gate.hpp"

namespace isla::gateway {

using membership::DatagramType;

DatagramGate::DatagramGate(std::string island, bool authenticated, DatagramLimits limits)
    : island_(std::move(island)),
      authenticated_(authenticated),
      limits_(limits),
      replay_(limits.replay) {}

bool DatagramGate::expected(const membership::Datagram& datagram) {
  switch (datagram.type) {
    case DatagramType::hello:
      return datagram.role == "pieces";
    case DatagramType::heartbeat:  // a gateway's carries gossip only
    case DatagramType::bye:
      return datagram.role == "pieces" || datagram.role == "gateway";
    case DatagramType::ping:
    case DatagramType::ack:
    case DatagramType::ping_req:
    case DatagramType::nack:
      return datagram.role == "gateway";
    case DatagramType::welcome:
      return false;  // gateways send welcomes; they never receive one
  }
  return false;
}

std::optional<std::string> DatagramGate::admit(const membership::Datagram& datagram,
                                               const core::Endpoint& from, std::uint64_t now_ms) {
  // The sender's UDP address is its HTTP address: a datagram speaking for another node is
  // forged (or misrouted) and must not change the routing table.
  if (core::parse_endpoint(datagram.node) != from) return "forged_source";
  if (!expected(datagram)) return "unexpected_role";
  // A piece server names no island until a gateway's welcome told it one (only a hello can
  // do that); naming another one means it belongs to another island's gateways.
  const bool unwelcomed_hello = datagram.type == DatagramType::hello && datagram.island.empty();
  if (!unwelcomed_hello && datagram.island != island_) return "wrong_island";
  if (datagram.figures.size() > limits_.max_figures_per_server) return "too_many_figures";
  if (!authenticated_) return std::nullopt;
  const auto verdict =
      replay_.check(datagram.node, datagram.incarnation, datagram.seq, datagram.ts, now_ms);
  if (verdict != membership::ReplayVerdict::fresh) return membership::to_string(verdict);
  return std::nullopt;
}

}  // namespace isla::gateway
