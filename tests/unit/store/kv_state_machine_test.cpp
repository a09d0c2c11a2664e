#include "store/kv_state_machine.hpp"

#include <gtest/gtest.h>

namespace isla::store {
namespace {

Txn put(std::string key, std::string value, LeaseId lease = 0) {
  Txn txn;
  txn.success.push_back({RequestOp::Kind::put, std::move(key), std::move(value), lease});
  return txn;
}

Txn del(std::string key, RequestOp::Kind kind = RequestOp::Kind::del) {
  Txn txn;
  txn.success.push_back({kind, std::move(key), {}, 0});
  return txn;
}

TEST(KvStateMachine, WritesTakeIncreasingRevisionsAndKeysTrackVersions) {
  KvStateMachine kv;
  EXPECT_EQ(kv.apply(put("a", "1")).revision, 1);
  EXPECT_EQ(kv.apply(put("b", "1")).revision, 2);
  EXPECT_EQ(kv.apply(put("a", "2")).revision, 3);
  auto a = kv.get("a");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->value, "2");
  EXPECT_EQ(a->create_revision, 1);
  EXPECT_EQ(a->mod_revision, 3);
  EXPECT_EQ(a->version, 2);
}

TEST(KvStateMachine, DeletingNothingTakesNoRevision) {
  KvStateMachine kv;
  kv.apply(put("a", "1"));
  EXPECT_EQ(kv.apply(del("nope")).revision, 1);
  auto result = kv.apply(del("a"));
  EXPECT_EQ(result.revision, 2);
  EXPECT_EQ(result.results[0].deleted, 1);
  EXPECT_EQ(result.results[0].kvs[0].value, "1");  // the previous value
  EXPECT_FALSE(kv.get("a"));
  // Recreated keys start a new life: version 1, new create revision.
  kv.apply(put("a", "x"));
  EXPECT_EQ(kv.get("a")->version, 1);
  EXPECT_EQ(kv.get("a")->create_revision, 3);
}

TEST(KvStateMachine, RangeAndDeleteRangeByPrefix) {
  KvStateMachine kv;
  for (const char* key : {"app/a", "app/b", "apple", "b"}) kv.apply(put(key, "v"));
  EXPECT_EQ(kv.range("app/").size(), 2u);
  EXPECT_EQ(kv.range("app").size(), 3u);
  EXPECT_EQ(kv.range("").size(), 4u);
  auto result = kv.apply(del("app/", RequestOp::Kind::del_range));
  EXPECT_EQ(result.results[0].deleted, 2);
  EXPECT_EQ(kv.range("").size(), 2u);
  EXPECT_EQ(result.revision, 5);  // one revision for the whole transaction
}

TEST(KvStateMachine, CompareAndSwapOnValueAndRevision) {
  KvStateMachine kv;
  kv.apply(put("lock", "free"));
  Txn take;
  take.compares.push_back({"lock", Compare::Target::value, Compare::Result::equal, "free", 0});
  take.success.push_back({RequestOp::Kind::put, "lock", "mine", 0});
  take.failure.push_back({RequestOp::Kind::get, "lock", {}, 0});
  auto first = kv.apply(take);
  EXPECT_TRUE(first.succeeded);
  auto second = kv.apply(take);
  EXPECT_FALSE(second.succeeded);
  EXPECT_EQ(second.results[0].kvs[0].value, "mine");  // the failure branch read it
  EXPECT_EQ(second.revision, first.revision);

  Txn by_revision;
  by_revision.compares.push_back(
      {"lock", Compare::Target::mod_revision, Compare::Result::equal, {}, first.revision});
  by_revision.success.push_back({RequestOp::Kind::put, "lock", "free", 0});
  EXPECT_TRUE(kv.apply(by_revision).succeeded);
  EXPECT_FALSE(kv.apply(by_revision).succeeded);  // the revision moved on
}

TEST(KvStateMachine, AbsentKeysCompareAsZeroAndEqualNoValue) {
  KvStateMachine kv;
  Txn create_only;
  create_only.compares.push_back(
      {"k", Compare::Target::create_revision, Compare::Result::equal, {}, 0});
  create_only.success.push_back({RequestOp::Kind::put, "k", "1", 0});
  EXPECT_TRUE(kv.apply(create_only).succeeded);
  EXPECT_FALSE(kv.apply(create_only).succeeded);
  Txn empty_value;
  empty_value.compares.push_back({"zz", Compare::Target::value, Compare::Result::equal, "", 0});
  EXPECT_FALSE(kv.apply(empty_value).succeeded);
}

TEST(KvStateMachine, WatchReplaysEventsFromARevisionUntilCompacted) {
  KvStateMachine kv(4);
  for (int i = 1; i <= 3; ++i) kv.apply(put("k", std::to_string(i)));
  auto watch = kv.events_since(2);
  ASSERT_EQ(watch.events.size(), 2u);
  EXPECT_EQ(watch.events[0].kv.value, "2");
  EXPECT_EQ(watch.events[1].kv.mod_revision, 3);
  for (int i = 4; i <= 8; ++i) kv.apply(put("k", std::to_string(i)));
  auto late = kv.events_since(2);
  EXPECT_TRUE(late.compacted);
  EXPECT_GT(late.compact_revision, 2);
  EXPECT_FALSE(kv.events_since(late.compact_revision).compacted);
}

TEST(KvStateMachine, RevokedOrExpiredLeasesTakeTheirKeys) {
  KvStateMachine kv;
  EXPECT_TRUE(kv.grant_lease(7, 1000, 5000).succeeded);
  EXPECT_FALSE(kv.grant_lease(7, 1000, 5000).succeeded);
  EXPECT_FALSE(kv.apply(put("x", "1", 8)).succeeded);  // unknown lease: nothing written
  EXPECT_FALSE(kv.get("x"));
  kv.apply(put("session/a", "1", 7));
  kv.apply(put("session/b", "1", 7));
  kv.apply(put("keep", "1"));
  EXPECT_TRUE(kv.expired_leases(5999).empty());
  kv.keep_alive(7, 5500);
  EXPECT_TRUE(kv.expired_leases(6400).empty());
  EXPECT_EQ(kv.expired_leases(6600), std::vector<LeaseId>{7});
  auto revoked = kv.revoke_lease(7);
  EXPECT_TRUE(revoked.succeeded);
  EXPECT_TRUE(kv.range("session/").empty());
  EXPECT_TRUE(kv.get("keep"));
  EXPECT_FALSE(kv.revoke_lease(7).succeeded);
}

TEST(KvStateMachine, ANewLeaderGivesEveryLeaseOneFullTtl) {
  KvStateMachine kv;
  ASSERT_TRUE(kv.grant_lease(7, 1000, 5000).succeeded);  // deadline 6000
  // Long expired by its deadline, but a leader elected at 9000 counts from then.
  EXPECT_TRUE(kv.expired_leases(9500, 9000).empty());
  EXPECT_EQ(kv.expired_leases(10'001, 9000), std::vector<LeaseId>{7});
  // A keep-alive after the election moves the deadline past the grace.
  ASSERT_TRUE(kv.keep_alive(7, 9800).succeeded);
  EXPECT_TRUE(kv.expired_leases(10'500, 9000).empty());
}

TEST(KvStateMachine, SnapshotRestoresEverything) {
  KvStateMachine kv;
  kv.grant_lease(3, 1000, 0);
  kv.apply(put("a", "1", 3));
  kv.apply(put("b", "2"));
  kv.apply(del("b"));
  KvStateMachine copy;
  copy.restore(kv.snapshot());
  EXPECT_EQ(copy.revision(), kv.revision());
  EXPECT_EQ(copy.range(""), kv.range(""));
  EXPECT_EQ(copy.events_since(1).events, kv.events_since(1).events);
  EXPECT_EQ(copy.expired_leases(2000), std::vector<LeaseId>{3});
  copy.revoke_lease(3);
  EXPECT_FALSE(copy.get("a"));  // the lease still knew its key
  EXPECT_THROW(copy.restore("{\"revision\":1}"), std::invalid_argument);
  EXPECT_THROW(copy.restore("garbage"), std::invalid_argument);
}

}  // namespace
}  // namespace isla::store
