#include "clocks/event_json.hpp"

#include <gtest/gtest.h>

#include <string>

#include "clocks/event_log.hpp"

namespace isla::clocks {
namespace {

namespace json = boost::json;

TEST(EventJson, TheLogIsShapedForTheApi) {
  EventLog log({.node = "127.0.0.1:5235", .capacity = 10}, [] { return std::int64_t{1234}; });
  log.record_local("leader_changed", json::object{{"leader", "127.0.0.1:5235"}});
  log.record_local("member_left", "127.0.0.1:5236");
  const auto events = log.causal_order();
  const auto body = to_json(events);
  const auto& list = body.at("events").as_array();
  ASSERT_EQ(list.size(), 2u);
  const auto& second = list[1].as_object();
  EXPECT_EQ(second.at("id"), 2);
  EXPECT_EQ(second.at("node"), "127.0.0.1:5235");
  EXPECT_EQ(second.at("kind"), "member_left");
  EXPECT_EQ(second.at("detail"), "127.0.0.1:5236");
  EXPECT_EQ(second.at("lamport"), 2);
  EXPECT_EQ(second.at("vector").as_object().at("127.0.0.1:5235"), 2);
  EXPECT_EQ(second.at("wall_ms"), 1234);
  EXPECT_EQ(second.at("after"), (json::array{1}));
  EXPECT_EQ(list[0].as_object().at("detail").as_object().at("leader"), "127.0.0.1:5235");
}

TEST(EventJson, AnEventRoundTripsExceptItsLogsOwnNumbers) {
  EventLog log({.node = "a:1", .capacity = 10});
  log.record_local("x", "");
  const auto event = log.record_received("route_added", json::object{{"figure", "giraffe"}}, 9,
                                         VectorClock({{"b:1", 4}}));
  const auto decoded = event_from_json(to_json(event));
  ASSERT_TRUE(decoded.event) << decoded.rejection;
  EXPECT_EQ(decoded.event->node, event.node);
  EXPECT_EQ(decoded.event->kind, event.kind);
  EXPECT_EQ(decoded.event->detail, event.detail);
  EXPECT_EQ(decoded.event->stamp(), event.stamp());
  EXPECT_EQ(decoded.event->wall_ms, event.wall_ms);
}

TEST(EventJson, AStampRoundTrips) {
  const Stamp stamp{12, VectorClock({{"a:1", 3}, {"b:1", 12}})};
  const auto decoded = stamp_from_json(to_json(stamp));
  ASSERT_TRUE(decoded.stamp) << decoded.rejection;
  EXPECT_EQ(*decoded.stamp, stamp);
}

void expect_rejected(const std::string& text, const std::string& why) {
  const auto decoded = event_from_json(json::parse(text), 4);
  EXPECT_FALSE(decoded.event) << text;
  EXPECT_EQ(decoded.rejection, why) << text;
}

TEST(EventJson, RefusesMalformedEvents) {
  const std::string clocks = R"("lamport":3,"vector":{"a":2},)";
  const std::string good_tail = R"("kind":"k","detail":"d","wall_ms":1})";
  expect_rejected("[]", "not_an_object");
  expect_rejected(R"({"vector":{"a":2},"node":"a",)" + good_tail, "bad_lamport");
  expect_rejected(R"({"lamport":3,"node":"a",)" + good_tail, "bad_vector");
  expect_rejected(R"({"lamport":3,"vector":{"a":0},"node":"a",)" + good_tail,
                  "bad_vector: bad_count");
  expect_rejected(
      R"({"lamport":3,"vector":{"a":1,"b":1,"c":1,"d":1,"e":1},"node":"a",)" + good_tail,
      "bad_vector: too_many_entries");
  expect_rejected("{" + clocks + R"("node":"",)" + good_tail, "bad_node");
  expect_rejected("{" + clocks + R"("node":"b",)" + good_tail, "bad_clocks");
  expect_rejected(R"({"lamport":1,"vector":{"a":2},"node":"a",)" + good_tail, "bad_clocks");
  expect_rejected("{" + clocks + R"("node":"a","detail":"d","wall_ms":1})", "bad_kind");
  expect_rejected("{" + clocks + R"("node":"a","kind":"k","detail":3,"wall_ms":1})", "bad_detail");
  expect_rejected("{" + clocks + R"("node":"a","kind":"k","detail":")" +
                      std::string(kMaxDetailBytes, 'x') + R"(","wall_ms":1})",
                  "bad_detail");
  expect_rejected("{" + clocks + R"("node":"a","kind":"k","detail":"d","wall_ms":"now"})",
                  "bad_wall_ms");
  EXPECT_TRUE(event_from_json(json::parse("{" + clocks + R"("node":"a",)" + good_tail)).event);
}

}  // namespace
}  // namespace isla::clocks
