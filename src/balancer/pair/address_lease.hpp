#pragma once
// Optional fencing through the island store: the active member must also hold a lease on the
// service address there, keyed by the address and carrying its term. Two members that cannot
// hear each other (a partition) can both win an election; where both still reach the store,
// only the one that holds the lease (the one that held it first, while it keeps renewing)
// claims the address. The price: after the holder's host dies, the other takes over only
// once the store lease lapses (its TTL), not after the peer timeout.
//
// The seam is asynchronous (the store is across the network): hold() is called when the node
// leads and then every renew interval; `done` runs later, on the pair's strand.
#include <chrono>
#include <functional>
#include <string>

#include "election/term.hpp"

namespace isla::balancer::pair {

enum class LeaseVerdict {
  held,         // the store says this node holds the address for this term
  lost,         // a higher term holds it: step away from the address now
  unavailable,  // no answer (store down, no leader, timeout): hold on until the lease lapses
};

const char* to_string(LeaseVerdict verdict);

class AddressLease {
 public:
  virtual ~AddressLease() = default;
  // Takes or keeps the lease for `term`: held when it was free or already ours (renewed);
  // lost when another member holds it. `done` never runs inside hold().
  virtual void hold(election::Term term, std::function<void(LeaseVerdict)> done) = 0;
  // Gives it up if this node holds it (best effort, no answer).
  virtual void release() = 0;
  // Whether this member can reach a working store now (a linearizable read: a store that has
  // lost its quorum does not count). A standby that stepped aside because it could not renew
  // asks this to know when to stand again. `done` never runs inside probe().
  virtual void probe(std::function<void(bool reachable)> done) = 0;
  // How long the store keeps the lease without renewal: a holder that hears nothing from
  // the store for this long must assume it lost it.
  virtual std::chrono::milliseconds ttl() const = 0;
};

}  // namespace isla::balancer::pair
