#pragma once
// Which decoded membership datagrams a gateway lets reach its routing table. Checks that
// need no state come first (who may speak, for which island, within which limits); replay
// protection, which keeps a record per sender, comes last, so a datagram dropped for any
// other reason creates no record. Pure: the wall clock is passed in. Not thread-safe: the
// gateway feeds it from its one UDP receive loop.
#include <optional>
#include <string>

#include "core/endpoint.hpp"
#include "membership/datagram.hpp"
#include "membership/replay_window.hpp"

namespace isla::gateway {

struct DatagramLimits {
  // An announcement naming more figures is dropped, not truncated (at most
  // membership::kMaxFiguresPerDatagram fit in a datagram anyway).
  std::size_t max_figures_per_server = membership::kMaxFiguresPerDatagram;
  membership::ReplayOptions replay;
};

class DatagramGate {
 public:
  // `authenticated`: the island has a secret and decode() checked every MAC. Without one,
  // anyone can forge a fresh datagram, so replay protection would protect nothing, and a
  // forger could lock a real sender out with one huge seq or incarnation: it is off.
  DatagramGate(std::string island, bool authenticated, DatagramLimits limits);

  // nullopt to accept, or why to drop (the drop counter's label).
  std::optional<std::string> admit(const membership::Datagram& datagram, const core::Endpoint& from,
                                   std::uint64_t now_ms);

  std::size_t senders_tracked() const { return replay_.senders(); }
  // Piece servers announce themselves and leave; other gateways run the failure detector
  // and leave. Nothing else is for a gateway.
  static bool expected(const membership::Datagram& datagram);

 private:
  std::string island_;
  bool authenticated_;
  DatagramLimits limits_;
  membership::ReplayWindow replay_;
};

}  // namespace isla::gateway
