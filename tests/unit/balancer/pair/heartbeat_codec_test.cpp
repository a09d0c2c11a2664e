#include "balancer/pair/heartbeat_codec.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "membership/datagram.hpp"

namespace isla::balancer::pair {
namespace {

Heartbeat sample() {
  Heartbeat beat;
  beat.node = "10.0.0.1:7000";
  beat.priority = 200;
  beat.incarnation = 1'800'000'000'000;
  beat.seq = 42;
  beat.ts = 1'800'000'000'123;
  beat.term = (std::uint64_t{3} << 32) | 77;
  beat.holds = true;
  election::ElectionMessage message;
  message.kind = election::MessageKind::coordinator;
  message.from = {beat.node, 200};
  message.term = beat.term;
  beat.messages.push_back(message);
  return beat;
}

TEST(HeartbeatCodec, RoundTripsWithAndWithoutASecret) {
  for (std::string_view secret : {"s3cret", ""}) {
    const auto beat = sample();
    const auto decoded = decode(encode(beat, secret), secret);
    ASSERT_TRUE(decoded.beat) << decoded.rejection;
    EXPECT_EQ(*decoded.beat, beat);
  }
}

TEST(HeartbeatCodec, RefusesTheWrongSecretATamperedBodyAndUnsignedDatagrams) {
  auto bytes = encode(sample(), "s3cret");
  EXPECT_EQ(decode(bytes, "other").rejection, "bad_signature");
  auto tampered = bytes;
  tampered[tampered.find("\"holds\":true") + 8] = 'f';
  EXPECT_EQ(decode(tampered, "s3cret").rejection, "bad_signature");
  EXPECT_EQ(decode(encode(sample(), ""), "s3cret").rejection, "bad_signature");
}

TEST(HeartbeatCodec, RefusesMalformedFieldsAndNamesThem) {
  const auto with = [](const char* key, boost::json::value value) {
    auto body = boost::json::parse(encode(sample(), "").substr(encode(sample(), "").find('\n') + 1))
                    .as_object();
    if (value.is_null()) {
      body.erase(key);
    } else {
      body[key] = value;
    }
    return decode(membership::seal(boost::json::serialize(body), "k"), "k").rejection;
  };
  EXPECT_EQ(with("type", "heartbeat"), "bad_type");
  EXPECT_EQ(with("node", "not an address"), "bad_node");
  EXPECT_EQ(with("priority", -1), "bad_priority");
  EXPECT_EQ(with("priority", std::uint64_t{1} << 40), "bad_priority");
  EXPECT_EQ(with("seq", "7"), "bad_seq");
  EXPECT_EQ(with("term", nullptr), "bad_term");
  EXPECT_EQ(with("holds", 1), "bad_holds");
  EXPECT_EQ(with("messages", boost::json::array{1, 2, 3, 4, 5}), "too_many_messages");
  EXPECT_EQ(
      with("messages", boost::json::array{boost::json::object{{"kind", "nope"}}}).substr(0, 12),
      "bad_message_");
  EXPECT_EQ(decode("isla1 -\n{\"type\":", "").rejection, "bad_json");
  EXPECT_EQ(decode("garbage", "").rejection, "bad_magic");
  EXPECT_EQ(decode(std::string(2000, 'x'), "").rejection, "too_large");
}

TEST(HeartbeatCodec, RefusesAnElectionMessageFromAnotherNode) {
  auto beat = sample();
  beat.messages.front().from.id = "10.0.0.2:7000";
  EXPECT_EQ(decode(encode(beat, "k"), "k").rejection, "foreign_message");
}

}  // namespace
}  // namespace isla::balancer::pair
