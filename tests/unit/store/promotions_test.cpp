#include "store/promotions.hpp"

#include <gtest/gtest.h>

namespace isla::store {
namespace {

using consensus::ConfChange;
using consensus::MembershipView;
using consensus::NodeId;
using consensus::Progress;

constexpr NodeId kLeader = 1, kVoter = 2, kLearner = 7, kOtherLearner = 8;

Progress streaming(consensus::Index match) {
  Progress progress;
  progress.match = match;
  progress.state = Progress::State::replicate;
  progress.recent_active = true;
  return progress;
}

// A leader's view: two voters, two learners far behind (match 10 of commit 1000).
MembershipView leader_view() {
  MembershipView view;
  view.role = consensus::Role::leader;
  view.leader = kLeader;
  view.conf.voters = {kLeader, kVoter};
  view.conf.learners = {kLearner, kOtherLearner};
  view.commit = 1000;
  for (NodeId id : {kLeader, kVoter, kLearner, kOtherLearner}) {
    view.addresses[id] = "127.0.0." + std::to_string(id) + ":5235";
    view.progress[id] = streaming(id == kLearner || id == kOtherLearner ? 10 : 1000);
  }
  return view;
}

KeyValue promise(NodeId id, std::string address, Revision mod_revision = 5) {
  return {promotion_key(id), std::move(address), mod_revision, mod_revision, 1, 0};
}

KeyValue promise_for(const MembershipView& view, NodeId id) {
  return promise(id, view.addresses.at(id));
}

TEST(Promotions, KeysNameOneNodeIdSpeltOneWay) {
  EXPECT_EQ(promotion_key(42), "_isla/store/promote/42");
  EXPECT_EQ(promised_node(promotion_key(18446744073709551615ull)), 18446744073709551615ull);
  for (const char* bad :
       {"_isla/store/promote/", "_isla/store/promote/042", "_isla/store/promote/0",
        "_isla/store/promote/4x", "_isla/store/promote/-4", "_isla/store/promote/ 4",
        "_isla/store/promote/18446744073709551616", "_isla/store/promote/4/5", "other/4"}) {
    EXPECT_FALSE(promised_node(bad)) << bad;
  }
}

TEST(Promotions, ALearnerIsPromotedOnlyOnceCaughtUpAndOneAtATime) {
  auto view = leader_view();
  const std::vector<KeyValue> promises = {promise_for(view, kLearner),
                                          promise_for(view, kOtherLearner)};
  auto plan = plan_promotions(promises, view, 64);
  EXPECT_EQ(plan.promised, (std::set<NodeId>{kLearner, kOtherLearner}));
  EXPECT_TRUE(plan.stale.empty());
  EXPECT_FALSE(plan.promote) << "match 10 of commit 1000 is not caught up";

  view.progress[kLearner] = streaming(1000 - 64);
  view.progress[kOtherLearner] = streaming(1000);
  plan = plan_promotions(promises, view, 64);
  ASSERT_TRUE(plan.promote);
  EXPECT_EQ(plan.promote->change,
            (ConfChange{ConfChange::Kind::add_voter, kLearner, view.addresses.at(kLearner)}));
  EXPECT_EQ(plan.promote->promise, promises.front());
  EXPECT_EQ(plan.promised.size(), 2u);

  // Caught up by index but not answering, or still being probed: not yet.
  view.progress[kLearner].recent_active = false;
  view.progress[kOtherLearner].state = Progress::State::probe;
  EXPECT_FALSE(plan_promotions(promises, view, 64).promote);
}

TEST(Promotions, EveryReplicaKnowsThePromisesButOnlyALeaderPromotes) {
  auto view = leader_view();
  view.role = consensus::Role::follower;
  view.progress.clear();  // a follower's view has none
  const auto plan = plan_promotions({promise_for(view, kLearner)}, view, 1'000'000);
  EXPECT_EQ(plan.promised, std::set<NodeId>{kLearner});
  EXPECT_FALSE(plan.promote);
}

TEST(Promotions, OvertakenForgedAndMalformedPromisesAreStale) {
  auto view = leader_view();
  view.progress[kLearner] = streaming(1000);
  const std::vector<KeyValue> promises = {
      promise_for(view, kVoter),                                    // promoted already
      promise(99, "127.0.0.99:5235"),                               // removed, or never a member
      promise(kLearner, "127.0.0.66:5235"),                         // not the learner's address
      {"_isla/store/promote/seven", "127.0.0.7:5235", 5, 5, 1, 0},  // no id
  };
  const auto plan = plan_promotions(promises, view, 64);
  EXPECT_TRUE(plan.promised.empty());
  EXPECT_FALSE(plan.promote) << "a forged address promotes nothing";
  ASSERT_EQ(plan.stale.size(), promises.size());
  for (std::size_t i = 0; i < promises.size(); ++i) {
    EXPECT_EQ(plan.stale[i].promise, promises[i]);
    EXPECT_FALSE(plan.stale[i].reason.empty());
  }
}

// The store's own writes, applied as every replica applies them: withdrawing what was read
// takes that promise, never one written again since (the learner removed and added anew).
TEST(Promotions, AWithdrawalTakesOnlyThePromiseThatWasRead) {
  KvStateMachine kv;
  const std::string address = "127.0.0.7:5235";
  kv.apply(promise_txn(kLearner, address));
  const auto read = kv.get(promotion_key(kLearner));
  ASSERT_TRUE(read);
  EXPECT_EQ(read->value, address);

  kv.apply(promise_txn(kLearner, address));  // `isla store add` again
  EXPECT_FALSE(kv.apply(withdraw_txn(*read)).succeeded);
  EXPECT_TRUE(kv.get(promotion_key(kLearner)));

  const auto again = kv.get(promotion_key(kLearner));
  EXPECT_TRUE(kv.apply(withdraw_txn(*again)).succeeded);
  EXPECT_FALSE(kv.get(promotion_key(kLearner)));
}

}  // namespace
}  // namespace isla::store
