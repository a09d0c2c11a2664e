#pragma once
// The pair member on a real socket and a real clock: what `isla balancer` starts with
// --heartbeat/--peer/--priority. It binds the heartbeat address (UDP), ticks the PairNode
// every tick_interval on the io_context, and keeps a snapshot of its status for /api/status
// and /metrics (readable from any thread).
//
//   balancer::pair::PairOptions options;           // heartbeat, peer, priority, secret, term_file
//   balancer::pair::ListenerAddress vip([&](bool serve) { serve ? proxy.listen() : proxy.close();
//   }); balancer::pair::PairDriver pair(io, options, vip); pair.start(); // ... pair.status();
//   pair.stop();
#include <memory>
#include <mutex>

#include "balancer/pair/address_lease.hpp"
#include "balancer/pair/pair_node.hpp"
#include "net/asio.hpp"

namespace isla::balancer::pair {

class PairDriver {
 public:
  // Binds the heartbeat address at once (throws std::runtime_error naming it on failure).
  // `address` and `lease` (optional) must outlive the driver. The io_context may be run by
  // several threads: the driver serialises its own work.
  PairDriver(asio::io_context& context, PairOptions options, ServiceAddress& address,
             AddressLease* lease = nullptr, PairEvents events = {});
  ~PairDriver();
  PairDriver(const PairDriver&) = delete;
  PairDriver& operator=(const PairDriver&) = delete;

  void start();
  // Releases the address and tells the peer, which takes over at once; then stops ticking.
  // Call before the io_context stops (Ctrl+C) for a handover without the peer timeout.
  void stop();

  PairStatus status() const;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace isla::balancer::pair
