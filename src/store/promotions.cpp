#include "store/promotions.hpp"

#include <algorithm>
#include <charconv>

namespace isla::store {

using consensus::NodeId;

namespace {

bool contains(const std::vector<NodeId>& nodes, NodeId node) {
  return std::find(nodes.begin(), nodes.end(), node) != nodes.end();
}

// Caught up: streaming, answering, and close enough to the commit index that as a voter it
// would not hold commits up (RaftStoreOptions::promote_within).
bool caught_up(const consensus::Progress& progress, consensus::Index commit,
               consensus::Index promote_within) {
  return progress.state == consensus::Progress::State::replicate && progress.recent_active &&
         progress.match + promote_within >= commit;
}

}  // namespace

std::string promotion_key(NodeId id) {
  return std::string(kPromotionPrefix) + std::to_string(id);
}

std::optional<NodeId> promised_node(std::string_view key) {
  if (!key.starts_with(kPromotionPrefix)) return std::nullopt;
  const auto digits = key.substr(kPromotionPrefix.size());
  // Exactly how promotion_key spells it: one key per node, however it is written.
  if (digits.empty() || (digits.size() > 1 && digits.front() == '0')) return std::nullopt;
  NodeId id = 0;
  const auto* end = digits.data() + digits.size();
  const auto [stop, error] = std::from_chars(digits.data(), end, id);
  if (error != std::errc() || stop != end || id == 0) return std::nullopt;
  return id;
}

Txn promise_txn(NodeId id, const std::string& address) {
  return put_txn(promotion_key(id), address);
}

Txn withdraw_txn(const KeyValue& promise) {
  Txn txn = delete_txn(promise.key);
  txn.compares.push_back(Compare{promise.key,
                                 Compare::Target::mod_revision,
                                 Compare::Result::equal,
                                 {},
                                 promise.mod_revision});
  return txn;
}

PromotionPlan plan_promotions(const std::vector<KeyValue>& promises,
                              const consensus::MembershipView& view,
                              consensus::Index promote_within) {
  PromotionPlan plan;
  for (const auto& promise : promises) {
    const auto id = promised_node(promise.key);
    if (!id) {
      plan.stale.push_back({promise, "the key names no member id"});
      continue;
    }
    if (contains(view.conf.voters, *id)) {
      plan.stale.push_back({promise, "it is a voter"});
      continue;
    }
    if (!contains(view.conf.learners, *id)) {
      plan.stale.push_back({promise, "it is no member"});
      continue;
    }
    const auto address = view.addresses.find(*id);
    if (address == view.addresses.end()) continue;  // learnt with the change: wait for it
    if (address->second != promise.value) {
      plan.stale.push_back({promise, "the address is not the learner's (" + address->second + ")"});
      continue;
    }
    plan.promised.insert(*id);
    if (plan.promote) continue;
    const auto progress = view.progress.find(*id);
    if (progress == view.progress.end() ||
        !caught_up(progress->second, view.commit, promote_within)) {
      continue;
    }
    plan.promote =
        Promotion{{consensus::ConfChange::Kind::add_voter, *id, address->second}, promise};
  }
  return plan;
}

}  // namespace isla::store
