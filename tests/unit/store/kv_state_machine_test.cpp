#include "store/kv_state_machine.hpp"

#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <numeric>

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

// Every event the history holds, found as a watcher from its start would.
std::vector<Event> whole_history(const KvStateMachine& kv) {
  auto all = kv.events_since(1);
  if (all.compacted) all = kv.events_since(all.compact_revision);
  EXPECT_FALSE(all.compacted);
  EXPECT_FALSE(all.more);
  return all.events;
}

std::size_t bytes_of(const std::vector<Event>& events) {
  return std::accumulate(
      events.begin(), events.end(), std::size_t{0},
      [](std::size_t sum, const Event& event) { return sum + KvStateMachine::event_bytes(event); });
}

std::size_t revisions_in(const std::vector<Event>& events) {
  std::set<Revision> revisions;
  for (const auto& event : events) revisions.insert(event.kv.mod_revision);
  return revisions.size();
}

TEST(KvStateMachineHistory, IsBoundedByBytesAsWellAsByCount) {
  const std::string value(1000, 'v');
  const std::size_t each = KvStateMachine::event_bytes(Event{Event::Type::put, {"k", value}});
  KvStateMachine kv(1000, 4 * each);
  for (int i = 0; i < 10; ++i) kv.apply(put("k", value));
  auto history = whole_history(kv);
  ASSERT_EQ(history.size(), 4u);  // far below the count bound: the bytes decided
  EXPECT_EQ(history.front().kv.mod_revision, 7);
  EXPECT_EQ(kv.history_bytes(), 4 * each);
  auto late = kv.events_since(6);
  EXPECT_TRUE(late.compacted);
  EXPECT_EQ(late.compact_revision, 7);

  // Small events: now the count decides.
  KvStateMachine by_count(3, 1 << 20);
  for (int i = 0; i < 10; ++i) by_count.apply(put("k", "v"));
  EXPECT_EQ(whole_history(by_count).size(), 3u);
}

TEST(KvStateMachineHistory, TheNewestRevisionStaysWhateverItsSize) {
  KvStateMachine kv(2, 1000);
  kv.apply(put("small", "v"));
  kv.apply(put("big", std::string(5000, 'b')));
  // Alone over the bound, but a watcher that is up to date must still get it.
  auto latest = kv.events_since(2);
  ASSERT_FALSE(latest.compacted);
  ASSERT_EQ(latest.events.size(), 1u);
  EXPECT_EQ(latest.events[0].kv.key, "big");
  EXPECT_TRUE(kv.events_since(1).compacted);

  // A transaction larger than the count bound is kept whole, then dropped whole.
  Txn many;
  for (const char* key : {"t1", "t2", "t3", "t4", "t5"}) {
    many.success.push_back({RequestOp::Kind::put, key, "v", 0});
  }
  const auto revision = kv.apply(many).revision;
  EXPECT_EQ(kv.events_since(revision).events.size(), 5u);
  EXPECT_EQ(kv.history_bytes(), bytes_of(kv.events_since(revision).events));
  kv.apply(put("after", "v"));
  auto gone = kv.events_since(revision);
  EXPECT_TRUE(gone.compacted);
  EXPECT_EQ(gone.compact_revision, revision + 1);
  EXPECT_EQ(whole_history(kv).size(), 1u);
}

TEST(KvStateMachineHistory, AccountingFollowsDeletesAndLeaseRevocation) {
  KvStateMachine kv;
  kv.grant_lease(7, 1000, 0);
  kv.apply(put("session/a", std::string(300, 'a'), 7));
  kv.apply(put("session/b", std::string(500, 'b'), 7));
  kv.apply(put("plain", "p"));
  kv.apply(del("plain"));
  const auto before = kv.history_bytes();
  EXPECT_EQ(before, bytes_of(whole_history(kv)));
  const auto revoked = kv.revoke_lease(7);
  ASSERT_TRUE(revoked.succeeded);
  // Two tombstones (keys only) at the revocation's revision.
  const auto tombstones = kv.events_since(revoked.revision).events;
  ASSERT_EQ(tombstones.size(), 2u);
  EXPECT_EQ(tombstones[0].type, Event::Type::del);
  EXPECT_EQ(kv.history_bytes(), before + bytes_of(tombstones));
  EXPECT_EQ(kv.history_bytes(), bytes_of(whole_history(kv)));
}

TEST(KvStateMachineHistory, RestoreRecountsAndTrimsToTheLocalBounds) {
  KvStateMachine large;
  for (int i = 0; i < 20; ++i) large.apply(put("k" + std::to_string(i), std::string(100, 'x')));
  KvStateMachine same;
  same.restore(large.snapshot());
  EXPECT_EQ(same.history_bytes(), large.history_bytes());
  EXPECT_EQ(same.snapshot(), large.snapshot());

  // A replica with smaller bounds keeps only what fits them, from the newest back.
  const std::size_t each = KvStateMachine::event_bytes(whole_history(large).back());
  KvStateMachine small(1000, 5 * each);
  small.restore(large.snapshot());
  const auto kept = whole_history(small);
  ASSERT_EQ(kept.size(), 5u);
  EXPECT_EQ(kept.back().kv.mod_revision, 20);
  EXPECT_EQ(small.history_bytes(), 5 * each);
  EXPECT_EQ(small.events_since(1).compact_revision, 16);
  EXPECT_EQ(small.range(""), large.range(""));  // only the history was trimmed
}

TEST(KvStateMachineWatch, FindsTheStartAndFiltersByPrefix) {
  KvStateMachine kv;
  for (int i = 1; i <= 100; ++i) kv.apply(put((i % 3 == 0 ? "a/" : "b/") + std::to_string(i), "v"));
  auto tail = kv.events_since(90, "a/");
  std::vector<Revision> revisions;
  for (const auto& event : tail.events) revisions.push_back(event.kv.mod_revision);
  EXPECT_EQ(revisions, (std::vector<Revision>{90, 93, 96, 99}));
  EXPECT_FALSE(tail.more);
  EXPECT_EQ(tail.next, 101);  // past everything looked at, matching or not

  auto quiet = kv.events_since(50, "nothing/");
  EXPECT_TRUE(quiet.events.empty());
  EXPECT_EQ(quiet.next, 101);
  auto future = kv.events_since(500);
  EXPECT_TRUE(future.events.empty());
  EXPECT_EQ(future.next, 500);
}

TEST(KvStateMachineWatch, PagesEndBetweenRevisionsAndSayWhereToGoOn) {
  KvStateMachine kv;
  kv.apply(put("a/1", "v"));
  Txn pair;
  pair.success.push_back({RequestOp::Kind::put, "a/2", "v", 0});
  pair.success.push_back({RequestOp::Kind::put, "a/3", "v", 0});
  kv.apply(pair);  // revision 2: two events
  kv.apply(put("a/4", "v"));

  auto first = kv.events_since(1, "a/", 2);
  ASSERT_EQ(first.events.size(), 1u);  // revision 2 would not fit whole
  EXPECT_TRUE(first.more);
  EXPECT_EQ(first.next, 2);
  auto second = kv.events_since(first.next, "a/", 1);
  EXPECT_EQ(second.events.size(), 2u);  // larger than the limit, but a page is never empty
  EXPECT_EQ(second.next, 3);
  auto by_bytes = kv.events_since(1, "a/", 100, 1);
  EXPECT_EQ(by_bytes.events.size(), 1u);
  EXPECT_EQ(by_bytes.next, 2);
}

// Random histories under small bounds: the byte count is always the sum over the history,
// the bounds hold unless one revision alone exceeds them, and paging through any prefix
// with any limits yields exactly the unpaged answer.
RC_GTEST_PROP(KvStateMachineProperty, HistoryAccountingAndPagingHoldUnderAnyCommands, ()) {
  const auto max_events = *rc::gen::inRange<std::size_t>(1, 12);
  const auto max_bytes = *rc::gen::inRange<std::size_t>(1, 3000);
  KvStateMachine kv(max_events, max_bytes);
  const std::vector<std::string> keys = {"a/x", "a/y", "b/z", "c"};
  const auto steps = *rc::gen::inRange(1, 60);
  for (int step = 0; step < steps; ++step) {
    const auto key = *rc::gen::elementOf(keys);
    switch (*rc::gen::inRange(0, 7)) {
      case 0:
        kv.apply(put(key, std::string(*rc::gen::inRange(0, 400), 'v')));
        break;
      case 1:
        kv.apply(del(key));
        break;
      case 2:
        kv.apply(del(key.substr(0, 1), RequestOp::Kind::del_range));
        break;
      case 3: {
        Txn txn;
        for (const auto& each : keys) txn.success.push_back({RequestOp::Kind::put, each, "t", 0});
        kv.apply(txn);
        break;
      }
      case 4:
        kv.grant_lease(step + 1, 1000, 0);
        kv.apply(put(key, "leased", step + 1));
        break;
      case 5:
        for (const auto id : kv.lease_ids()) kv.revoke_lease(id);
        break;
      case 6: {
        KvStateMachine copy(max_events, max_bytes);
        copy.restore(kv.snapshot());
        RC_ASSERT(copy.history_bytes() == kv.history_bytes());
        RC_ASSERT(copy.snapshot() == kv.snapshot());
        break;
      }
    }
    const auto history = whole_history(kv);
    RC_ASSERT(kv.history_bytes() == bytes_of(history));
    if (revisions_in(history) > 1) {
      RC_ASSERT(history.size() <= max_events);
      RC_ASSERT(kv.history_bytes() <= max_bytes);
    }
  }

  const auto prefix = *rc::gen::element<std::string>("", "a/", "b", "zz");
  const auto page_events = *rc::gen::inRange<std::size_t>(1, 5);
  const auto page_bytes = *rc::gen::inRange<std::size_t>(1, 1000);
  const auto oldest = kv.events_since(1).compacted ? kv.events_since(1).compact_revision : 1;
  const auto from = *rc::gen::inRange<Revision>(oldest, kv.revision() + 2);
  const auto expected = kv.events_since(from, prefix).events;
  std::vector<Event> paged;
  Revision at = from;
  for (;;) {
    const auto page = kv.events_since(at, prefix, page_events, page_bytes);
    RC_ASSERT(!page.compacted);
    RC_ASSERT(page.next > at || (page.next == at && !page.more && page.events.empty()));
    if (revisions_in(page.events) > 1) {
      RC_ASSERT(page.events.size() <= page_events);
      RC_ASSERT(bytes_of(page.events) <= page_bytes);
    }
    for (const auto& event : page.events) {
      RC_ASSERT(event.kv.key.starts_with(prefix));
      RC_ASSERT(event.kv.mod_revision < page.next);  // a revision is never split
    }
    paged.insert(paged.end(), page.events.begin(), page.events.end());
    if (!page.more) {
      RC_ASSERT(page.next == std::max(at, kv.revision() + 1));
      break;
    }
    at = page.next;
  }
  RC_ASSERT(paged == expected);
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
