#pragma once
// Membership updates waiting to be piggybacked on outgoing datagrams. Each is sent a bounded
// number of times (enough for an epidemic to reach everyone with high probability), the least
// sent and newest first; a newer update about a member replaces the older one.
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "membership/datagram.hpp"

namespace isla::membership {

class GossipQueue {
 public:
  // At most `capacity` members' updates are held; past that the most sent one is dropped.
  explicit GossipQueue(std::size_t capacity) : capacity_(capacity) {}

  void push(GossipEntry entry);
  // Up to `count` updates, none about `skip_node`, each counted as sent once; updates sent
  // `limit` times are dropped.
  std::vector<GossipEntry> take(std::size_t count, std::size_t limit,
                                const std::string& skip_node = {});
  void forget(const std::string& node) { queued_.erase(node); }
  std::size_t size() const { return queued_.size(); }

 private:
  struct Queued {
    GossipEntry entry;
    std::size_t sent = 0;
    std::uint64_t order = 0;  // larger is newer
    // Least sent first, then newest first: fresh news spreads before old news is repeated.
    bool sends_before(const Queued& other) const {
      if (sent != other.sent) return sent < other.sent;
      return order > other.order;
    }
  };
  std::size_t capacity_;
  std::uint64_t next_order_ = 0;
  std::map<std::string, Queued> queued_;  // by the member the update is about
};

}  // namespace isla::membership
