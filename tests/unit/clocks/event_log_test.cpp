#include "clocks/event_log.hpp"

#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <algorithm>
#include <atomic>
#include <map>
#include <set>
#include <thread>

namespace isla::clocks {
namespace {

namespace json = boost::json;

VectorClock clock(VectorClock::Entries entries) {
  return VectorClock(std::move(entries));
}

EventLog::WallClock fixed_wall_clock(std::int64_t ms) {
  return [ms] { return ms; };
}

TEST(EventLog, ALocalEventTicksBothClocks) {
  EventLog log({.node = "a", .capacity = 10}, fixed_wall_clock(1700000000000));
  const auto first = log.record_local("leader_changed", "a leads");
  const auto second = log.record_local("member_joined", json::object{{"member", "b"}});
  EXPECT_EQ(first.id, 1u);
  EXPECT_EQ(second.id, 2u);
  EXPECT_EQ(first.lamport, 1u);
  EXPECT_EQ(second.lamport, 2u);
  EXPECT_EQ(first.vector, clock({{"a", 1}}));
  EXPECT_EQ(second.vector, clock({{"a", 2}}));
  EXPECT_EQ(second.node, "a");
  EXPECT_EQ(second.wall_ms, 1700000000000);
  EXPECT_EQ(second.detail.as_object().at("member"), "b");
  EXPECT_EQ(log.clocks(), second.stamp());
}

TEST(EventLog, AReceiptMergesTheSendersClocks) {
  EventLog log({.node = "a", .capacity = 10});
  log.record_local("tick", "");
  const auto received = log.record_received("heartbeat", "", 10, clock({{"b", 3}, {"a", 1}}));
  EXPECT_EQ(received.lamport, 11u);
  EXPECT_EQ(received.vector, clock({{"a", 2}, {"b", 3}}));
  const auto after = log.record_received("heartbeat", "", 4, clock({{"b", 4}}));
  EXPECT_EQ(after.lamport, 12u);
  EXPECT_EQ(after.vector, clock({{"a", 3}, {"b", 4}}));
}

TEST(EventLog, KeepsTheLatestEventsUpToItsCapacity) {
  EventLog log({.node = "a", .capacity = 3});
  for (int n = 0; n < 5; ++n) log.record_local("tick", boost::json::string(std::to_string(n)));
  const auto events = log.causal_order();
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events.front().id, 3u);
  EXPECT_EQ(events.back().id, 5u);
  EXPECT_TRUE(events.front().after.empty());  // its predecessor was dropped
  EXPECT_EQ(events.back().after, (std::vector<std::uint64_t>{4}));
}

TEST(EventLog, SinceGivesTheNewerEventsForALiveFeed) {
  EventLog log({.node = "a", .capacity = 10});
  for (int n = 0; n < 4; ++n) log.record_local("tick", "");
  const auto feed = log.since(2);
  ASSERT_EQ(feed.size(), 2u);
  EXPECT_EQ(feed[0].id, 3u);
  EXPECT_EQ(feed[1].id, 4u);
  EXPECT_EQ(feed[0].after, (std::vector<std::uint64_t>{2}));  // an older one still counts
  EXPECT_TRUE(log.since(4).empty());
}

TEST(EventLog, OtherNodesEventsAreIngestedOnceWithTheirOwnClocks) {
  EventLog log({.node = "a", .capacity = 10});
  Event remote;
  remote.node = "b";
  remote.kind = "route_added";
  remote.detail = "giraffe";
  remote.lamport = 7;
  remote.vector = clock({{"b", 2}});
  remote.id = 99;
  remote.after = {98};
  EXPECT_TRUE(log.ingest(remote));
  EXPECT_FALSE(log.ingest(remote));  // the same event, e.g. fetched twice
  remote.vector = clock({{"c", 1}});
  EXPECT_FALSE(log.ingest(remote));  // no entry for its own node: not an event of "b"
  const auto events = log.causal_order();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].id, 1u);  // renumbered in this log
  EXPECT_TRUE(events[0].after.empty());
  EXPECT_EQ(log.clocks(), Stamp{});  // ingesting is not an event of ours
}

// a1, a2 (send m to b); b1; b2 (receive m); a3. In one log: b2 comes after a2 and b1, and a3
// after a2 only (concurrent with b1 and b2).
TEST(EventLog, EachEventPointsAtEachNodesLatestEventBeforeIt) {
  EventLog a({.node = "a", .capacity = 10});
  EventLog b({.node = "b", .capacity = 10});
  a.record_local("a1", "");
  const auto send = a.record_local("a2", "send m");
  b.record_local("b1", "");
  b.record_received("b2", "receive m", send.lamport, send.vector);
  a.record_local("a3", "");

  EventLog island({.node = "viewer", .capacity = 10});
  std::map<std::string, std::uint64_t> id_of;
  for (const auto* log : {&a, &b}) {
    for (auto event : log->causal_order()) {
      const auto kind = event.kind;
      ASSERT_TRUE(island.ingest(std::move(event)));
      id_of[kind] = island.causal_order().size();  // ids are given in ingest order
    }
  }
  std::map<std::string, std::vector<std::uint64_t>> after;
  for (const auto& event : island.causal_order()) after[event.kind] = event.after;
  EXPECT_TRUE(after["a1"].empty());
  EXPECT_EQ(after["a2"], (std::vector<std::uint64_t>{id_of["a1"]}));
  EXPECT_EQ(after["b1"], (std::vector<std::uint64_t>{}));
  EXPECT_EQ(after["b2"], (std::vector<std::uint64_t>{id_of["a2"], id_of["b1"]}));
  EXPECT_EQ(after["a3"], (std::vector<std::uint64_t>{id_of["a2"]}));
}

TEST(EventLog, DetailsThatAreNeitherStringsNorObjectsAreKeptAsText) {
  EventLog log({.node = "a", .capacity = 10});
  EXPECT_EQ(log.record_local("x", 42).detail, json::value("42"));
  EXPECT_EQ(log.record_local("x", json::array{1, 2}).detail, json::value("[1,2]"));
}

// The gateway records from its UDP loop and reads from HTTP handlers at once.
TEST(EventLog, RecordsFromManyThreadsWithoutLosingAnEvent) {
  constexpr int kThreads = 4;
  constexpr int kEach = 2000;
  EventLog log({.node = "a", .capacity = kThreads * kEach});
  std::atomic<bool> go{false};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      while (!go.load()) std::this_thread::yield();
      for (int n = 0; n < kEach; ++n) {
        if (n % 2 == 0) {
          log.record_local("tick", "");
        } else {
          log.record_received("heartbeat", "", static_cast<std::uint64_t>(n), clock({{"b", 1}}));
        }
        if (n % 500 == 0) (void)log.since(static_cast<std::uint64_t>(n));
      }
    });
  }
  go = true;
  for (auto& thread : threads) thread.join();
  const auto events = log.causal_order();
  ASSERT_EQ(events.size(), static_cast<std::size_t>(kThreads * kEach));
  std::set<std::uint64_t> own_counts;
  for (const auto& event : events) own_counts.insert(event.vector.at("a"));
  EXPECT_EQ(own_counts.size(), events.size());
  EXPECT_EQ(*own_counts.rbegin(), static_cast<std::uint64_t>(kThreads * kEach));
  for (std::size_t i = 1; i < events.size(); ++i) {
    EXPECT_LT(events[i - 1].lamport, events[i].lamport);
  }
}

// Random histories of local events, sends and receipts among four nodes, each with its own
// log; all their events gathered in one log. Its causal order must be a linear extension of
// happened-before (as the vector clocks tell it), and each event's `after` must be, for each
// node, that node's latest event that happened before it.
RC_GTEST_PROP(EventLogProperty, CausalOrderIsALinearExtensionOfHappenedBefore,
              (const std::vector<std::tuple<std::uint8_t, std::uint8_t, std::uint8_t>>& steps)) {
  const std::vector<std::string> names{"n0", "n1", "n2", "n3"};
  std::vector<std::unique_ptr<EventLog>> logs;
  for (const auto& name : names) {
    logs.push_back(std::make_unique<EventLog>(EventLogOptions{.node = name, .capacity = 10000}));
  }
  std::vector<std::pair<std::size_t, Stamp>> in_flight;
  for (const auto& [who, what, which] : steps) {
    auto& log = *logs[who % names.size()];
    if (what % 3 == 0) {
      log.record_local("local", "");
    } else if (what % 3 == 1) {
      const auto to = (who + 1u + which % 3u) % names.size();
      in_flight.emplace_back(to, log.record_local("send", "").stamp());
    } else if (!in_flight.empty()) {
      // Any message in flight, not only the oldest: the network reorders.
      const auto pick = which % in_flight.size();
      const auto [to, stamp] = in_flight[pick];
      in_flight.erase(in_flight.begin() + static_cast<std::ptrdiff_t>(pick));
      logs[to]->record_received("receive", "", stamp.lamport, stamp.vector);
    }
  }
  EventLog island({.node = "viewer", .capacity = 10000});
  for (const auto& log : logs) {
    for (auto event : log->causal_order()) RC_ASSERT(island.ingest(std::move(event)));
  }
  const auto order = island.causal_order();
  for (std::size_t i = 0; i < order.size(); ++i) {
    for (std::size_t j = i + 1; j < order.size(); ++j) {
      RC_ASSERT(!order[j].vector.happened_before(order[i].vector));
    }
  }
  for (const auto& event : order) {
    std::map<std::string, const Event*> latest;
    for (const auto& other : order) {
      if (!other.vector.happened_before(event.vector)) continue;
      auto& best = latest[other.node];
      if (best == nullptr || best->vector.at(other.node) < other.vector.at(other.node)) {
        best = &other;
      }
    }
    std::vector<std::uint64_t> expected;
    for (const auto& [node, best] : latest) expected.push_back(best->id);
    std::sort(expected.begin(), expected.end());
    RC_ASSERT(event.after == expected);
  }
}

}  // namespace
}  // namespace isla::clocks
