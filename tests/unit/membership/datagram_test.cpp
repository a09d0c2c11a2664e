#include "membership/datagram.hpp"

#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <algorithm>

namespace isla::membership {
namespace {

Datagram heartbeat() {
  Datagram datagram;
  datagram.type = DatagramType::heartbeat;
  datagram.node = "127.0.1.11:1233";
  datagram.role = "pieces";
  datagram.island = "local";
  datagram.incarnation = 1732370000123;
  datagram.seq = 42;
  datagram.figures = {"giraffe", "black-sheep"};
  datagram.load = {3, 1000};
  return datagram;
}

TEST(Datagram, RoundTripsUnsigned) {
  auto bytes = encode(heartbeat(), "");
  ASSERT_TRUE(bytes);
  EXPECT_EQ(bytes->rfind("isla1 -\n{", 0), 0u);
  auto decoded = decode(*bytes, "");
  ASSERT_TRUE(decoded.datagram) << decoded.rejection;
  EXPECT_EQ(*decoded.datagram, heartbeat());
}

TEST(Datagram, SignedDatagramsNeedTheRightKey) {
  auto bytes = encode(heartbeat(), "k1");
  ASSERT_TRUE(bytes);
  EXPECT_TRUE(decode(*bytes, "k1").datagram);
  EXPECT_EQ(decode(*bytes, "k2").rejection, "bad_signature");
  EXPECT_EQ(decode(*encode(heartbeat(), ""), "k1").rejection, "bad_signature");
}

TEST(Datagram, TamperingBreaksTheSignature) {
  auto bytes = *encode(heartbeat(), "k1");
  bytes.replace(bytes.find("giraffe"), 7, "dragon_");
  EXPECT_EQ(decode(bytes, "k1").rejection, "bad_signature");
}

// A partitioned island's welcome says what to hold, and "hold nothing" is not "no assignment".
TEST(Datagram, AWelcomeCarriesAnAssignmentEvenAnEmptyOne) {
  Datagram welcome = heartbeat();
  welcome.type = DatagramType::welcome;
  welcome.role = "gateway";
  welcome.figures.clear();
  for (auto assigned : {std::vector<std::string>{"giraffe", "owl"}, std::vector<std::string>{}}) {
    welcome.assigned = assigned;
    auto decoded = decode(*encode(welcome, "k1"), "k1");
    ASSERT_TRUE(decoded.datagram) << decoded.rejection;
    EXPECT_EQ(decoded.datagram->assigned, std::optional(assigned));
  }
  welcome.assigned.reset();
  EXPECT_FALSE(decode(*encode(welcome, ""), "").datagram->assigned);
  // Only a welcome may carry one; and its names follow the figure grammar.
  auto hello = heartbeat();
  hello.assigned = std::vector<std::string>{"giraffe"};
  EXPECT_EQ(decode(*encode(hello, ""), "").rejection, "bad_assigned");
  welcome.assigned = std::vector<std::string>{"Not A Name"};
  EXPECT_EQ(decode(*encode(welcome, ""), "").rejection, "bad_figure_name");
}

TEST(Datagram, RejectsGarbageWithAReason) {
  const std::pair<std::string, std::string> cases[] = {
      {"", "bad_magic"},
      {"hello", "bad_magic"},
      {"isla1 -", "no_body"},
      {"isla1 -\n{", "bad_json"},
      {"isla1 -\n[]", "bad_json"},
      {"isla1 -\n{\"type\":\"nuke\"}", "bad_type"},
      {"isla1 -\n{\"type\":\"bye\",\"node\":\"x\",\"role\":\"pieces\",\"island\":\"l\"}",
       "bad_node"},
      {"isla1 -\n{\"type\":\"bye\",\"node\":\"1.2.3.4:5\",\"role\":\"p p\",\"island\":\"l\"}",
       "bad_role"},
      {"isla1 -\n{\"type\":\"bye\",\"node\":\"1.2.3.4:5\",\"role\":\"p\",\"island\":\"l\","
       "\"seq\":-1}",
       "bad_number"},
      {"isla1 -\n{\"type\":\"bye\",\"node\":\"1.2.3.4:5\",\"role\":\"p\",\"island\":\"l\","
       "\"figures\":[\"../etc\"]}",
       "bad_figure_name"},
      {"isla1 -\n{\"type\":\"bye\",\"node\":\"1.2.3.4:5\",\"role\":\"p\",\"island\":\"l\","
       "\"figures\":\"owl\"}",
       "bad_figures"},
      {"isla1 -\n{\"type\":\"bye\",\"node\":\"1.2.3.4:5\",\"role\":\"p\",\"island\":\"\"}",
       "bad_island"},
      {"isla1 -\n{\"type\":\"bye\",\"node\":\"1.2.3.4:5\",\"role\":\"p\",\"island\":\"l\","
       "\"ts\":-5}",
       "bad_number"},
      {"isla1 -\n" + std::string(1300, ' '), "too_large"},
  };
  for (const auto& [bytes, reason] : cases) {
    EXPECT_EQ(decode(bytes, "").rejection, reason) << bytes.substr(0, 60);
  }
}

TEST(Datagram, TooManyFiguresAreRefusedNotTruncated) {
  auto datagram = heartbeat();
  datagram.figures.clear();
  for (std::size_t i = 0; i <= kMaxFiguresPerDatagram; ++i) {
    datagram.figures.push_back(std::to_string(i));
  }
  auto bytes = encode(datagram, "k1");
  ASSERT_TRUE(bytes);
  EXPECT_EQ(decode(*bytes, "k1").rejection, "too_many_figures");
}

TEST(Datagram, OnlyAHelloMayLeaveTheIslandOutAndTheTimestampRoundTrips) {
  auto hello = heartbeat();
  hello.type = DatagramType::hello;
  hello.island.clear();
  hello.ts = 1764600000123;
  auto decoded = decode(*encode(hello, "k1"), "k1");
  ASSERT_TRUE(decoded.datagram) << decoded.rejection;
  EXPECT_EQ(*decoded.datagram, hello);
  auto beat = hello;
  beat.type = DatagramType::heartbeat;
  EXPECT_EQ(decode(*encode(beat, "k1"), "k1").rejection, "bad_island");
}

TEST(Datagram, EncodeRefusesWhatDoesNotFitInOneDatagram) {
  auto datagram = heartbeat();
  datagram.figures.assign(60, std::string(30, 'a'));
  EXPECT_FALSE(encode(datagram, ""));
}

Datagram probe(DatagramType type) {
  Datagram datagram;
  datagram.type = type;
  datagram.node = "127.0.1.1:5235";
  datagram.role = "gateway";
  datagram.island = "local";
  datagram.incarnation = 1764600000123;
  datagram.seq = 7;
  datagram.ts = 1764600000456;
  datagram.probe = 99;
  datagram.load = {12, 3400, 5, 48, 170};
  return datagram;
}

GossipEntry alive_entry(std::string node) {
  return {std::move(node), MemberState::alive, 1764600000001, {}, Load{1, 2, 3, 4, 5}};
}

TEST(Datagram, FailureDetectorDatagramsRoundTripWithGossipAndLoad) {
  auto ping_req = probe(DatagramType::ping_req);
  ping_req.target = "127.0.1.3:5235";
  ping_req.gossip = {
      alive_entry("127.0.1.4:5235"),
      {"127.0.1.5:5235", MemberState::suspect, 8, "127.0.1.2:5235", std::nullopt},
      {"127.0.1.6:5235", MemberState::dead, 9, {}, std::nullopt},
      {"127.0.1.7:5235", MemberState::left, 10, {}, std::nullopt},
  };
  auto relayed_ack = probe(DatagramType::ack);
  relayed_ack.target = "127.0.1.3:5235";
  auto nack = probe(DatagramType::nack);
  nack.target = "[::1]:5235";
  for (const auto& datagram :
       {probe(DatagramType::ping), probe(DatagramType::ack), ping_req, relayed_ack, nack}) {
    auto bytes = encode(datagram, "k1");
    ASSERT_TRUE(bytes);
    auto decoded = decode(*bytes, "k1");
    ASSERT_TRUE(decoded.datagram) << decoded.rejection << " " << *bytes;
    EXPECT_EQ(*decoded.datagram, datagram) << *bytes;
  }
}

TEST(Datagram, PieceServerDatagramsCarryNoneOfTheNewFields) {
  const auto bytes = *encode(heartbeat(), "");
  for (const char* key : {"probe", "target", "gossip", "queue_delay_ms", "p99_ms", "cpu_percent"}) {
    EXPECT_EQ(bytes.find(key), std::string::npos) << key;
  }
}

TEST(Datagram, RejectsBadFailureDetectorFieldsWithAReason) {
  const std::string head =
      "isla1 -\n{\"node\":\"1.2.3.4:5\",\"role\":\"gateway\",\"island\":\"l\",";
  const std::string gossip_head = head + "\"type\":\"ping\",\"probe\":1,\"gossip\":";
  const std::pair<std::string, std::string> cases[] = {
      {head + "\"type\":\"ping\"}", "bad_probe"},
      {head + "\"type\":\"ack\",\"probe\":0}", "bad_probe"},
      {head + "\"type\":\"heartbeat\",\"probe\":5}", "bad_probe"},
      {head + "\"type\":\"ping\",\"probe\":\"5\"}", "bad_probe"},
      {head + "\"type\":\"ping_req\",\"probe\":5}", "bad_target"},
      {head + "\"type\":\"nack\",\"probe\":5}", "bad_target"},
      {head + "\"type\":\"ping\",\"probe\":5,\"target\":\"1.2.3.4:6\"}", "bad_target"},
      {head + "\"type\":\"ping_req\",\"probe\":5,\"target\":\"nowhere\"}", "bad_target"},
      {head + "\"type\":\"ping_req\",\"probe\":5,\"target\":7}", "bad_target"},
      {gossip_head + "{}}", "bad_gossip"},
      {gossip_head + "[{\"node\":\"1.2.3.4:6\",\"state\":\"alive\"}]}", "bad_gossip"},
      {gossip_head + "[{\"node\":\"x\",\"state\":\"alive\",\"inc\":1}]}", "bad_gossip"},
      {gossip_head + "[{\"node\":\"1.2.3.4:6\",\"state\":\"zombie\",\"inc\":1}]}", "bad_gossip"},
      {gossip_head + "[{\"node\":\"1.2.3.4:6\",\"state\":\"suspect\",\"inc\":1}]}", "bad_gossip"},
      {gossip_head +
           "[{\"node\":\"1.2.3.4:6\",\"state\":\"alive\",\"inc\":1,\"from\":\"1.2.3.4:5\"}]}",
       "bad_gossip"},
      {gossip_head + "[{\"node\":\"1.2.3.4:6\",\"state\":\"dead\",\"inc\":1,\"load\":{}}]}",
       "bad_gossip"},
      {gossip_head + "[{\"node\":\"1.2.3.4:6\",\"state\":\"alive\",\"inc\":-1}]}", "bad_gossip"},
      {gossip_head + "[1,2,3,4,5,6,7,8,9]}", "too_much_gossip"},
      {head + "\"type\":\"heartbeat\",\"load\":{\"cpu_percent\":102401}}", "bad_load"},
      {head + "\"type\":\"heartbeat\",\"load\":{\"p99_ms\":4294967296}}", "bad_load"},
      {head + "\"type\":\"heartbeat\",\"load\":{\"queue_delay_ms\":-1}}", "bad_load"},
  };
  for (const auto& [bytes, reason] : cases) {
    EXPECT_EQ(decode(bytes, "").rejection, reason) << bytes;
  }
}

TEST(Datagram, EncodeLeavesOutTheGossipThatDoesNotFit) {
  auto datagram = probe(DatagramType::ping);
  for (int i = 0; i < 12; ++i) {
    datagram.gossip.push_back(
        alive_entry("[fd00:1234:5678:9abc:def0:1234:5678:" + std::to_string(1000 + i) + "]:65535"));
  }
  auto bytes = encode(datagram, "k1");
  ASSERT_TRUE(bytes);
  EXPECT_LE(bytes->size(), 1200u);
  auto decoded = decode(*bytes, "k1");
  ASSERT_TRUE(decoded.datagram) << decoded.rejection;
  const auto& kept = decoded.datagram->gossip;
  ASSERT_GE(kept.size(), 1u);
  ASSERT_LT(kept.size(), kMaxGossipPerDatagram);  // these entries are too big for eight
  // The first ones (the freshest) are kept, in order.
  EXPECT_TRUE(std::equal(kept.begin(), kept.end(), datagram.gossip.begin()));
}

TEST(Datagram, EncodeKeepsAtMostTheGossipDecodeAccepts) {
  auto datagram = probe(DatagramType::ack);
  for (int i = 0; i < 12; ++i) {
    datagram.gossip.push_back(
        {"10.0.0." + std::to_string(i) + ":1", MemberState::dead, 1, {}, std::nullopt});
  }
  auto decoded = decode(*encode(datagram, ""), "");
  ASSERT_TRUE(decoded.datagram) << decoded.rejection;
  EXPECT_EQ(decoded.datagram->gossip.size(), kMaxGossipPerDatagram);
}

RC_GTEST_PROP(DatagramProperty, EncodeDecodeRoundTrips,
              (std::uint64_t incarnation, std::uint64_t seq, std::uint64_t ts,
               std::uint32_t in_flight, bool draining)) {
  auto datagram = heartbeat();
  datagram.incarnation = incarnation;
  datagram.seq = seq;
  datagram.ts = ts;
  datagram.load.in_flight = in_flight;
  datagram.draining = draining;
  const auto figure_count = *rc::gen::inRange(0, 10);
  datagram.figures.clear();
  for (int i = 0; i < figure_count; ++i) datagram.figures.push_back("f" + std::to_string(i));
  auto bytes = encode(datagram, "secret");
  RC_ASSERT(bytes.has_value());
  auto decoded = decode(*bytes, "secret");
  RC_ASSERT(decoded.datagram.has_value());
  RC_ASSERT(*decoded.datagram == datagram);
}

}  // namespace
}  // namespace isla::membership
