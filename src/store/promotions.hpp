#pragma once
// Promises to make a learner a voter once it has caught up (`isla store add`), kept in the
// store itself: one key per learner, "_isla/store/promote/<node id>" → its address, written
// through the Raft log like any write. Whichever replica leads reads them on its periodic
// loop, so a promise outlives the leader that made it, and every replica can say which
// learners are promised. The rules are pure; RaftStore reads the keys and carries out the
// plan (docs/architecture.md, "The island store").
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "consensus/raft_node.hpp"
#include "store/kv_state_machine.hpp"
#include "store/store.hpp"

namespace isla::store {

inline constexpr std::string_view kPromotionPrefix = "_isla/store/promote/";

std::string promotion_key(consensus::NodeId id);
// The node id a promise's key names; nullopt if it names none (not "<prefix><decimal id>").
std::optional<consensus::NodeId> promised_node(std::string_view key);
Txn promise_txn(consensus::NodeId id, const std::string& address);
// Deletes the promise only if it is still the one that was read: a promise written again
// since (the member removed and added anew) is another promise, and stays.
Txn withdraw_txn(const KeyValue& promise);

struct StalePromise {
  KeyValue promise;
  std::string reason;  // for the log
};

struct Promotion {
  consensus::ConfChange change;  // add_voter
  KeyValue promise;              // withdrawn once the change is applied
};

struct PromotionPlan {
  std::set<consensus::NodeId> promised;  // learners with a valid promise ("promoting")
  // Promises nobody should act on: a malformed key, an address that is not the learner's,
  // or a node that is no learner any more (promoted, or removed).
  std::vector<StalePromise> stale;
  // At most one a round, as Raft takes one change at a time: the first caught-up learner.
  // Only a leader's view has the progress this needs.
  std::optional<Promotion> promote;
};

// `promises` must have been read no later than `view` was taken: a promise is written only
// once its learner is in the configuration, so a promise whose node is no learner in a
// later view was overtaken (promoted or removed), never a promise made too early.
PromotionPlan plan_promotions(const std::vector<KeyValue>& promises,
                              const consensus::MembershipView& view,
                              consensus::Index promote_within);

}  // namespace isla::store
