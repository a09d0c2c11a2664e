#pragma once
// StoreLeadership on the embedded store: the gateway that leads the Raft group leads.
#include "store/leadership.hpp"
#include "store/raft_store.hpp"

namespace isla::store {

class RaftLeadership final : public StoreLeadership {
 public:
  explicit RaftLeadership(const RaftStore& store) : store_(store) {}
  bool leading() const override { return store_.status().role == consensus::Role::leader; }
  std::string leader_address() const override { return store_.status().leader_address; }

 private:
  const RaftStore& store_;
};

}  // namespace isla::store
