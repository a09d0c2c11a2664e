// RaftStore's membership changes at run time (docs/operations.md, "Changing the store's
// members"): a new member joins as a learner and whichever replica leads promotes it once it
// has caught up, as promised in the store (store/promotions.hpp); a member is removed with a
// single change. Raft takes one change at a time and refuses another until the first is
// applied.
#include <spdlog/spdlog.h>

#include <algorithm>

#include "store/command_codec.hpp"
#include "store/promotions.hpp"
#include "store/raft_store.hpp"

namespace isla::store {

// GCC 12's false -Wmismatched-new-delete on inlined Asio coroutine frames (as in
// gateway/event_log_routes.cpp).
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

using consensus::ConfChange;
using consensus::MembershipView;
using consensus::NodeId;
using consensus::ProposeStatus;
using consensus::Role;

namespace {

// How long the leader waits for a promotion (or a promise's withdrawal) it proposes from its
// periodic loop.
constexpr auto kPromotionTimeout = std::chrono::seconds(2);
// A leader removing itself hands over first; longer than this means the transfer failed.
constexpr auto kHandOverTimeout = std::chrono::seconds(2);
// How long a change Raft refused waits for the changes before it to be applied.
constexpr auto kSettleTimeout = std::chrono::seconds(1);
// Stale promises are dropped a few a round, so that many of them (written by hand) cannot
// hold up the lease checks that share the loop.
constexpr std::size_t kStaleDropsPerRound = 16;

bool contains(const std::vector<NodeId>& nodes, NodeId node) {
  return std::find(nodes.begin(), nodes.end(), node) != nodes.end();
}

bool made(const ConfChange& change, const consensus::ConfState& conf) {
  switch (change.kind) {
    case ConfChange::Kind::add_voter:
      return contains(conf.voters, change.node);
    case ConfChange::Kind::add_learner:
      return contains(conf.learners, change.node) || contains(conf.voters, change.node);
    case ConfChange::Kind::remove:
      return !contains(conf.voters, change.node) && !contains(conf.learners, change.node);
  }
  return false;
}

template <class T>
StoreResult<T> failure(StoreError error) {
  return {std::nullopt, std::move(error)};
}

}  // namespace

StoreMember RaftStore::member_of(const MembershipView& view, const std::set<NodeId>& promised,
                                 NodeId id) const {
  StoreMember member;
  member.id = id;
  if (auto address = view.addresses.find(id); address != view.addresses.end()) {
    member.address = address->second;
  }
  member.voter = contains(view.conf.voters, id);
  member.leader = id == view.leader;
  member.promoting = !member.voter && promised.contains(id);
  if (auto progress = view.progress.find(id); progress != view.progress.end()) {
    member.progress = progress->second;
  }
  return member;
}

asio::awaitable<std::vector<KeyValue>> RaftStore::read_promises() {
  const auto read = [this] { return replica_->kv.range(std::string(kPromotionPrefix)); };
  co_return co_await node_->run(read);
}

asio::awaitable<RaftStore::PlannedView> RaftStore::plan_view() {
  // Promises first, then the configuration: see plan_promotions.
  auto promises = co_await read_promises();
  auto view = co_await node_->membership();
  auto plan = plan_promotions(promises, view, options_.promote_within);
  co_return PlannedView{std::move(view), std::move(plan)};
}

asio::awaitable<StoreResult<StoreMembers>> RaftStore::members(Consistency consistency) {
  const auto planned = co_await plan_view();
  const auto& view = planned.view;
  const auto& plan = planned.plan;
  const bool leads = view.role == Role::leader;
  if (consistency == Consistency::linearizable && !leads) {
    co_return failure<StoreMembers>(not_leader());
  }
  StoreMembers members;
  members.leader = view.leader;
  if (auto address = view.addresses.find(view.leader); address != view.addresses.end()) {
    members.leader_address = address->second;
  }
  members.commit = view.commit;
  members.from_leader = leads;
  for (NodeId id : view.conf.voters) {
    members.members.push_back(member_of(view, plan.promised, id));
  }
  for (NodeId id : view.conf.learners) {
    members.members.push_back(member_of(view, plan.promised, id));
  }
  co_return StoreResult<StoreMembers>{std::move(members), {}};
}

asio::awaitable<StoreResult<StoreMember>> RaftStore::add_member(const std::string& address,
                                                                Deadline deadline) {
  const NodeId id = node_id_for(address);
  const auto view = co_await node_->membership();
  if (view.role != Role::leader) co_return failure<StoreMember>(not_leader());
  if (contains(view.conf.voters, id)) {
    co_return StoreResult<StoreMember>{member_of(view, {}, id), {}};
  }
  if (!contains(view.conf.learners, id)) {
    const ConfChange change{ConfChange::Kind::add_learner, id, address};
    auto error = co_await change_membership(change, deadline);
    if (error.code != StoreErrorCode::ok) co_return failure<StoreMember>(std::move(error));
    spdlog::info("store member added as learner address={} id={}", address, id);
  }
  // Only now that the learner is in the configuration: a promise for a node that is none is
  // dropped as overtaken (plan_promotions). Written again for a learner, it is the same.
  const auto promise = encode_command(promise_txn(id, address));
  auto written = co_await propose(promise, deadline);
  if (!written.ok()) co_return failure<StoreMember>(std::move(written.error));
  const auto now = co_await plan_view();
  co_return StoreResult<StoreMember>{member_of(now.view, now.plan.promised, id), {}};
}

asio::awaitable<StoreResult<StoreMember>> RaftStore::remove_member(const std::string& address,
                                                                   Deadline deadline) {
  const NodeId id = node_id_for(address);
  const auto planned = co_await plan_view();
  const auto& view = planned.view;
  if (view.role != Role::leader) co_return failure<StoreMember>(not_leader());
  const bool voter = contains(view.conf.voters, id);
  if (!voter && !contains(view.conf.learners, id)) {
    co_return failure<StoreMember>(
        {StoreErrorCode::not_found, "no store member has the address " + address, {}});
  }
  if (voter && view.conf.voters.size() == 1) {
    co_return failure<StoreMember>(
        {StoreErrorCode::conflict,
         address + " is the store's last voter: without it nothing could be committed",
         {}});
  }
  if (id == node_->id()) {
    // Raft would let this leader commit its own removal and then step down, leaving the
    // store without a leader for an election timeout. Handing over first avoids the gap, and
    // the new leader removes this replica like any follower.
    const auto give_up = std::min(deadline, std::chrono::steady_clock::now() + kHandOverTimeout);
    if (!co_await hand_over_leadership(give_up)) {
      co_return failure<StoreMember>(
          {StoreErrorCode::unavailable,
           "this replica leads the store and could not hand leadership over before removing "
           "itself; retry",
           {}});
    }
    co_return failure<StoreMember>(not_leader());
  }
  auto member = member_of(view, planned.plan.promised, id);
  const ConfChange change{ConfChange::Kind::remove, id, address};
  auto error = co_await change_membership(change, deadline);
  if (error.code != StoreErrorCode::ok) co_return failure<StoreMember>(std::move(error));
  co_await withdraw_promise(id, deadline);
  spdlog::info("store member removed address={} was={}", address, voter ? "voter" : "learner");
  co_return StoreResult<StoreMember>{std::move(member), {}};
}

asio::awaitable<ProposeStatus> RaftStore::propose_membership(const ConfChange& change,
                                                             Deadline deadline) {
  const auto proposed = co_await node_->propose_conf_change(change);
  if (proposed != ProposeStatus::rejected) co_return proposed;
  // Raft refuses while an earlier change is in the log but not yet applied, and a new
  // leader counts its whole log as such until it has applied it: right after an election
  // (or the hand-over that removing a leader starts with) this is a matter of milliseconds,
  // so wait for what the log holds now to be applied, and ask once more.
  const Deadline settle = std::min(deadline, std::chrono::steady_clock::now() + kSettleTimeout);
  auto view = co_await node_->membership();
  const auto target = view.last_index;
  while (view.applied < target && std::chrono::steady_clock::now() < settle) {
    co_await node_->wait_applied_beyond(view.applied, settle);
    view = co_await node_->membership();
  }
  co_return co_await node_->propose_conf_change(change);
}

asio::awaitable<StoreError> RaftStore::change_membership(const ConfChange& change,
                                                         Deadline deadline) {
  switch (co_await propose_membership(change, deadline)) {
    case ProposeStatus::ok:
      break;
    case ProposeStatus::not_leader:
      co_return not_leader();
    case ProposeStatus::unknown:
    case ProposeStatus::rejected:
      co_return StoreError{
          StoreErrorCode::conflict, "another membership change is in progress; retry", {}};
  }
  auto view = co_await node_->membership();
  consensus::Index applied = view.applied;
  while (!made(change, view.conf)) {
    if (std::chrono::steady_clock::now() >= deadline) {
      co_return StoreError{StoreErrorCode::unknown_outcome,
                           "the membership change was proposed but not applied before the "
                           "deadline; GET /api/store/members shows whether it took effect",
                           {}};
    }
    applied = co_await node_->wait_applied_beyond(applied, deadline);
    view = co_await node_->membership();
  }
  co_return StoreError{};
}

// Removing the member makes its promise stale; if this fails, a leader's periodic loop
// drops it later (and it promotes nothing meanwhile: its node is no learner).
asio::awaitable<void> RaftStore::withdraw_promise(NodeId id, Deadline deadline) {
  const auto promises = co_await read_promises();
  const auto key = promotion_key(id);
  for (const auto& promise : promises) {
    if (promise.key != key) continue;
    const auto command = encode_command(withdraw_txn(promise));
    co_await propose(command, deadline);
  }
}

// From the leader's periodic loop: one learner a round, once its log has caught up; and
// the promises nobody is to act on any more are dropped.
asio::awaitable<void> RaftStore::promote_caught_up_learners() {
  const auto planned = co_await plan_view();
  const auto& view = planned.view;
  const auto& plan = planned.plan;
  if (view.role != Role::leader) co_return;
  const auto give_up = std::chrono::steady_clock::now() + kPromotionTimeout;
  for (std::size_t i = 0; i < plan.stale.size() && i < kStaleDropsPerRound; ++i) {
    const auto& stale = plan.stale[i];
    const auto command = encode_command(withdraw_txn(stale.promise));
    const auto dropped = co_await propose(command, give_up);
    if (dropped.ok() && dropped.value->succeeded) {
      spdlog::info("store promotion promise dropped key={} reason=\"{}\"", stale.promise.key,
                   stale.reason);
    }
  }
  if (!plan.promote) co_return;
  const auto& promotion = *plan.promote;
  const auto error = co_await change_membership(promotion.change, give_up);
  if (error.code != StoreErrorCode::ok) {
    spdlog::info("store learner promotion deferred address={} reason=\"{}\"",
                 promotion.change.address, error.message);
    co_return;
  }
  const auto progress = view.progress.find(promotion.change.node);
  spdlog::info("store learner promoted to voter address={} match={} commit={}",
               promotion.change.address, progress->second.match, view.commit);
  // Kept, it would be dropped as stale next round; the promise is kept until the change is
  // applied so that a leader lost before then leaves it to the next.
  const auto command = encode_command(withdraw_txn(promotion.promise));
  co_await propose(command, give_up);
}

asio::awaitable<bool> RaftStore::hand_over_leadership(Deadline give_up) {
  const auto view = co_await node_->membership();
  if (view.role != Role::leader) co_return false;
  // The most caught-up voter needs the fewest appends before it can take over.
  NodeId target = 0;
  consensus::Index best = 0;
  for (NodeId voter : view.conf.voters) {
    if (voter == node_->id()) continue;
    const auto progress = view.progress.find(voter);
    const consensus::Index match = progress == view.progress.end() ? 0 : progress->second.match;
    if (target == 0 || match > best) {
      target = voter;
      best = match;
    }
  }
  if (target == 0) co_return false;
  for (;;) {
    const auto status = node_->status();
    if (status.role != Role::leader && status.leader != 0 && status.leader != status.id) {
      co_return true;
    }
    if (std::chrono::steady_clock::now() >= give_up) co_return false;
    // Again each round: Raft abandons a transfer that takes an election timeout.
    if (status.role == Role::leader) node_->transfer_leadership(target);
    co_await net::sleep_for(std::chrono::milliseconds(10));
  }
}

}  // namespace isla::store
