#pragma once
// The other gateways of the island as request paths see them: an immutable snapshot that the
// membership loop publishes and any thread reads.
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "core/endpoint.hpp"

namespace isla::gateway {

// What a gateway says about its own load in every membership datagram.
struct GatewayLoad {
  std::uint32_t in_flight = 0;       // figure requests it is serving itself
  std::uint32_t capacity = 0;        // its --max-inflight; 0 = no limit
  std::uint32_t queue_delay_ms = 0;  // how late its event loops run ready work
  std::uint32_t p99_ms = 0;          // of the figure requests it served recently
  std::uint32_t cpu_percent = 0;     // of one core; 200 = two cores busy
  bool saturated = false;            // over its in-flight or queueing-delay limit
  friend bool operator==(const GatewayLoad&, const GatewayLoad&) = default;
};

struct PeerView {
  std::string address;  // HOST:PORT, HTTP and UDP alike
  core::Endpoint endpoint;
  std::string state;  // alive | suspect | dead | left
  std::uint64_t incarnation = 0;
  GatewayLoad load;
  bool draining = false;
  long long last_contact_ms = -1;  // ms ago; -1 = never heard from

  // May new requests be sent to it?
  bool takes_requests() const { return state == "alive" && !draining && !load.saturated; }
};

struct PeerSnapshot {
  std::vector<PeerView> peers;
};

// Published under a mutex: the membership loop replaces the snapshot on every datagram (tens
// a second), and request paths read it only when this gateway is saturated or draining, so
// the lock is off the common path. Readers keep the shared_ptr they got: never iterate over
// a member of the temporary snapshot() returns (ThreadSanitizer caught exactly that).
class PeerDirectory {
 public:
  std::shared_ptr<const PeerSnapshot> snapshot() const {
    std::lock_guard lock(mutex_);
    return snapshot_;
  }
  void publish(PeerSnapshot peers) {
    auto next = std::make_shared<const PeerSnapshot>(std::move(peers));
    std::lock_guard lock(mutex_);
    snapshot_.swap(next);  // the old one is freed outside the lock, by `next`
  }

 private:
  mutable std::mutex mutex_;
  std::shared_ptr<const PeerSnapshot> snapshot_ = std::make_shared<const PeerSnapshot>();
};

}  // namespace isla::gateway
