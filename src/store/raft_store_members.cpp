// RaftStore's membership changes at run time (docs/operations.md, "Changing the store's
// members"): a new member joins as a learner and the leader promotes it once it has caught
// up; a member is removed with a single change. Raft takes one change at a time and refuses
// another until the first is applied.
#include <spdlog/spdlog.h>

#include <algorithm>

#include "store/raft_store.hpp"

namespace isla::store {

using consensus::ConfChange;
using consensus::MembershipView;
using consensus::NodeId;
using consensus::ProposeStatus;
using consensus::Role;

namespace {

// How long the leader waits for a promotion it proposes from its periodic loop.
constexpr auto kPromotionTimeout = std::chrono::seconds(2);
// A leader removing itself hands over first; longer than this means the transfer failed.
constexpr auto kHandOverTimeout = std::chrono::seconds(2);
// How long a change Raft refused waits for the changes before it to be applied.
constexpr auto kSettleTimeout = std::chrono::seconds(1);

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

StoreMember RaftStore::member_of(const MembershipView& view, NodeId id) const {
  StoreMember member;
  member.id = id;
  if (auto address = view.addresses.find(id); address != view.addresses.end()) {
    member.address = address->second;
  }
  member.voter = contains(view.conf.voters, id);
  member.leader = id == view.leader;
  if (view.role == Role::leader && !member.voter) {
    std::lock_guard lock(promotions_mutex_);
    member.promoting = promotions_.contains(id);
  }
  if (auto progress = view.progress.find(id); progress != view.progress.end()) {
    member.progress = progress->second;
  }
  return member;
}

asio::awaitable<StoreResult<StoreMembers>> RaftStore::members(Consistency consistency) {
  const auto view = co_await node_->membership();
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
  for (NodeId id : view.conf.voters) members.members.push_back(member_of(view, id));
  for (NodeId id : view.conf.learners) members.members.push_back(member_of(view, id));
  co_return StoreResult<StoreMembers>{std::move(members), {}};
}

asio::awaitable<StoreResult<StoreMember>> RaftStore::add_member(const std::string& address,
                                                                Deadline deadline) {
  const NodeId id = node_id_for(address);
  auto view = co_await node_->membership();
  if (view.role != Role::leader) co_return failure<StoreMember>(not_leader());
  if (contains(view.conf.voters, id)) co_return StoreResult<StoreMember>{member_of(view, id), {}};
  if (!contains(view.conf.learners, id)) {
    const ConfChange change{ConfChange::Kind::add_learner, id, address};
    auto error = co_await change_membership(change, deadline);
    if (error.code != StoreErrorCode::ok) co_return failure<StoreMember>(std::move(error));
    spdlog::info("store member added as learner address={} id={}", address, id);
  }
  {
    std::lock_guard lock(promotions_mutex_);
    promotions_.insert(id);
  }
  view = co_await node_->membership();
  co_return StoreResult<StoreMember>{member_of(view, id), {}};
}

asio::awaitable<StoreResult<StoreMember>> RaftStore::remove_member(const std::string& address,
                                                                   Deadline deadline) {
  const NodeId id = node_id_for(address);
  const auto view = co_await node_->membership();
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
  auto member = member_of(view, id);
  const ConfChange change{ConfChange::Kind::remove, id, address};
  auto error = co_await change_membership(change, deadline);
  if (error.code != StoreErrorCode::ok) co_return failure<StoreMember>(std::move(error));
  {
    std::lock_guard lock(promotions_mutex_);
    promotions_.erase(id);
  }
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

// From the leader's periodic loop: one learner a round, once its log has caught up.
asio::awaitable<void> RaftStore::promote_caught_up_learners() {
  std::vector<NodeId> wanted;
  {
    std::lock_guard lock(promotions_mutex_);
    wanted.assign(promotions_.begin(), promotions_.end());
  }
  if (wanted.empty()) co_return;
  const auto view = co_await node_->membership();
  if (view.role != Role::leader) co_return;
  for (NodeId id : wanted) {
    if (!contains(view.conf.learners, id)) {
      std::lock_guard lock(promotions_mutex_);
      promotions_.erase(id);  // promoted, or removed
      continue;
    }
    const auto progress = view.progress.find(id);
    const auto address = view.addresses.find(id);
    if (progress == view.progress.end() || address == view.addresses.end()) continue;
    const auto& log = progress->second;
    const bool caught_up = log.state == consensus::Progress::State::replicate &&
                           log.recent_active && log.match + options_.promote_within >= view.commit;
    if (!caught_up) continue;
    const ConfChange change{ConfChange::Kind::add_voter, id, address->second};
    const auto error =
        co_await change_membership(change, std::chrono::steady_clock::now() + kPromotionTimeout);
    if (error.code == StoreErrorCode::ok) {
      spdlog::info("store learner promoted to voter address={} match={} commit={}", address->second,
                   log.match, view.commit);
    } else {
      spdlog::info("store learner promotion deferred address={} reason=\"{}\"", address->second,
                   error.message);
    }
    co_return;
  }
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
