#include "membership/datagram.hpp"

#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

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
