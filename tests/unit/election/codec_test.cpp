#include "election/codec.hpp"

#include <gtest/gtest.h>

#include <string>

namespace isla::election {
namespace {

ElectionMessage ring_election() {
  ElectionMessage message;
  message.kind = MessageKind::ring_election;
  message.from = {"127.0.0.1:5002", 0};
  message.term = (7ull << 32) | 12345;
  message.initiator = "127.0.0.1:5001";
  message.attempt = 3;
  message.seq = 41;
  message.candidates = {{"127.0.0.1:5001", 0}, {"[::1]:5002", 9}};
  return message;
}

TEST(ElectionCodec, EveryKindRoundTrips) {
  std::vector<ElectionMessage> messages;
  for (const auto kind :
       {MessageKind::election, MessageKind::coordinator, MessageKind::heartbeat}) {
    ElectionMessage message;
    message.kind = kind;
    message.from = {"gateway-1.local:5235", 4000000000u};
    message.term = 99;
    messages.push_back(message);
  }
  ElectionMessage answer;
  answer.kind = MessageKind::answer;
  answer.from = {"127.0.0.1:5003", 0};
  answer.term = 5;
  messages.push_back(answer);
  answer.leader = Candidate{"127.0.0.1:5004", 2};
  messages.push_back(answer);
  messages.push_back(ring_election());
  auto coordinator = ring_election();
  coordinator.kind = MessageKind::ring_coordinator;
  coordinator.candidates.clear();
  coordinator.leader = Candidate{"[::1]:5002", 9};
  messages.push_back(coordinator);
  ElectionMessage ack;
  ack.kind = MessageKind::ring_ack;
  ack.from = {"127.0.0.1:5003", 0};
  ack.term = 5;
  ack.seq = 77;
  messages.push_back(ack);

  for (const auto& message : messages) {
    const auto decoded = decode(encode(message));
    ASSERT_TRUE(decoded.message) << to_string(message.kind) << ": " << decoded.rejection;
    EXPECT_EQ(*decoded.message, message) << encode(message);
  }
}

TEST(ElectionCodec, FieldsAKindDoesNotUseAreNeitherWrittenNorRead) {
  auto heartbeat = ring_election();
  heartbeat.kind = MessageKind::heartbeat;
  const auto text = encode(heartbeat);
  EXPECT_EQ(text.find("candidates"), std::string::npos);
  EXPECT_EQ(text.find("seq"), std::string::npos);
  const auto decoded = decode(
      R"({"kind":"heartbeat","from":{"id":"127.0.0.1:1","priority":0},"term":1,"seq":5,"new":true})");
  ASSERT_TRUE(decoded.message) << decoded.rejection;
  EXPECT_EQ(decoded.message->seq, 0u);
}

void expect_rejected(const std::string& text, const std::string& why) {
  const auto decoded = decode(text);
  EXPECT_FALSE(decoded.message) << text;
  EXPECT_EQ(decoded.rejection, why) << text;
}

TEST(ElectionCodec, RefusesMalformedMessagesWithAReason) {
  const std::string from = R"("from":{"id":"127.0.0.1:1"})";
  expect_rejected("", "bad_json");
  expect_rejected("{", "bad_json");
  expect_rejected("[1]", "not_an_object");
  expect_rejected(R"({"kind":"vote",)" + from + R"(,"term":1})", "bad_kind");
  expect_rejected(R"({"kind":7,)" + from + R"(,"term":1})", "bad_kind");
  expect_rejected(R"({"kind":"heartbeat","term":1})", "bad_from");
  expect_rejected(R"({"kind":"heartbeat","from":{"id":"no port"},"term":1})", "bad_from");
  expect_rejected(R"({"kind":"heartbeat","from":"127.0.0.1:1","term":1})", "bad_from");
  expect_rejected(R"({"kind":"heartbeat","from":{"id":"127.0.0.1:1","priority":-1},"term":1})",
                  "bad_from");
  expect_rejected(
      R"({"kind":"heartbeat","from":{"id":"127.0.0.1:1","priority":4294967296},"term":1})",
      "bad_from");
  expect_rejected(R"({"kind":"heartbeat",)" + from + "}", "bad_term");
  expect_rejected(R"({"kind":"heartbeat",)" + from + R"(,"term":-3})", "bad_term");
  expect_rejected(R"({"kind":"heartbeat",)" + from + R"(,"term":1.5})", "bad_term");
  expect_rejected(R"({"kind":"ring_ack",)" + from + R"(,"term":1})", "bad_seq");
  expect_rejected(R"({"kind":"answer",)" + from + R"(,"term":1,"leader":{"id":""}})", "bad_leader");
  expect_rejected(R"({"kind":"ring_coordinator",)" + from +
                      R"(,"term":1,"initiator":"127.0.0.1:1","attempt":1,"seq":1})",
                  "bad_leader");
  const std::string ring = R"({"kind":"ring_election",)" + from +
                           R"(,"term":1,"initiator":"127.0.0.1:1","attempt":1,"seq":1,)";
  expect_rejected(ring + R"("candidates":[]})", "bad_candidates");
  expect_rejected(ring + R"("candidates":[{"id":"127.0.0.1:2"}]})", "bad_initiator");
  expect_rejected(ring + R"("candidates":[{"id":"127.0.0.1:1"},{"id":"127.0.0.1:1"}]})",
                  "duplicate_candidate");
  expect_rejected(R"({"kind":"ring_election",)" + from +
                      R"(,"term":1,"attempt":1,"seq":1,"candidates":[{"id":"127.0.0.1:1"}]})",
                  "bad_initiator");
}

TEST(ElectionCodec, RefusesOversizedMessages) {
  std::string list = R"({"id":"127.0.0.1:1"})";
  for (std::size_t n = 2; n <= kMaxCandidates + 1; ++n) {
    list += R"(,{"id":"127.0.0.1:)" + std::to_string(n) + R"("})";
  }
  expect_rejected(R"({"kind":"ring_election","from":{"id":"127.0.0.1:1"},"term":1,)"
                  R"("initiator":"127.0.0.1:1","attempt":1,"seq":1,"candidates":[)" +
                      list + "]}",
                  "too_many_candidates");
  expect_rejected(std::string(kMaxMessageBytes + 1, ' '), "too_large");
  const std::string long_host(kMaxNodeIdBytes, 'a');
  expect_rejected(R"({"kind":"heartbeat","from":{"id":")" + long_host + R"(:1"},"term":1})",
                  "bad_from");
  expect_rejected(std::string(100, '[') + std::string(100, ']'), "bad_json");
}

}  // namespace
}  // namespace isla::election
