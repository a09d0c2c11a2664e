#pragma once
// The live members as one node sees them: who outranks it (Bully asks them) and the ring's
// order (by id), which every node computes alike from the same membership.
#include <map>
#include <optional>
#include <vector>

#include "election/election.hpp"

namespace isla::election {

class Members {
 public:
  explicit Members(Candidate self);

  // Replaces the set; any order, duplicates and this node's own entry allowed. A member
  // reported with priority 0 keeps the priority its own messages announced (a membership layer
  // need not know priorities).
  void assign(std::vector<Candidate> alive);
  // A message from `sender`: its priority, as it announces it, is the one that counts.
  void heard_from(const Candidate& sender);

  const Candidate& self() const { return self_; }
  void set_self_priority(std::uint32_t priority);
  bool contains(const NodeId& id) const;
  std::vector<NodeId> others() const;
  std::vector<Candidate> above_self() const;
  // The ring walk from this node: the members after it in id order, wrapping around, up to and
  // including `stop`; every other member when `stop` is this node. A `stop` that is not a
  // member still ends the walk where it would stand.
  std::vector<NodeId> arc_to(const NodeId& stop) const;

 private:
  Candidate self_;
  std::vector<Candidate> by_id_;               // this node included
  std::map<NodeId, std::uint32_t> announced_;  // priorities senders announced
};

}  // namespace isla::election
