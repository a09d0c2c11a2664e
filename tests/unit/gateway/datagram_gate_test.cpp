#include "gateway/datagram_gate.hpp"

#include <gtest/gtest.h>

namespace isla::gateway {
namespace {

using membership::DatagramType;
using namespace std::chrono_literals;

constexpr std::uint64_t kNow = 1'764'600'000'000;
const core::Endpoint kServer{"127.0.1.11", 1233};

membership::Datagram heartbeat(std::uint64_t seq, std::uint64_t incarnation = 100) {
  membership::Datagram datagram;
  datagram.type = DatagramType::heartbeat;
  datagram.node = kServer.str();
  datagram.role = "pieces";
  datagram.island = "blue";
  datagram.incarnation = incarnation;
  datagram.seq = seq;
  datagram.ts = kNow;
  datagram.figures = {"owl"};
  return datagram;
}

std::string verdict(DatagramGate& gate, const membership::Datagram& datagram,
                    const core::Endpoint& from = kServer, std::uint64_t now_ms = kNow) {
  return gate.admit(datagram, from, now_ms).value_or("accepted");
}

TEST(DatagramGate, ChecksSourceRoleIslandAndFigureLimit) {
  DatagramGate gate("blue", true, DatagramLimits{3, {}});
  EXPECT_EQ(verdict(gate, heartbeat(1), {"127.0.1.12", 1233}), "forged_source");
  auto gateway = heartbeat(1);
  gateway.role = "gateway";
  gateway.type = membership::DatagramType::hello;
  EXPECT_EQ(verdict(gate, gateway), "unexpected_role");
  auto piece_ping = heartbeat(1);
  piece_ping.type = membership::DatagramType::ping;
  EXPECT_EQ(verdict(gate, piece_ping), "unexpected_role");
  auto welcome = heartbeat(1);
  welcome.type = membership::DatagramType::welcome;
  EXPECT_EQ(verdict(gate, welcome), "unexpected_role");
  auto elsewhere = heartbeat(1);
  elsewhere.island = "red";
  EXPECT_EQ(verdict(gate, elsewhere), "wrong_island");
  auto crowded = heartbeat(1);
  crowded.figures = {"a", "b", "c", "d"};
  EXPECT_EQ(verdict(gate, crowded), "too_many_figures");
  // None of those took a place in the replay records.
  EXPECT_EQ(gate.senders_tracked(), 0u);
  EXPECT_EQ(verdict(gate, heartbeat(1)), "accepted");
  EXPECT_EQ(gate.senders_tracked(), 1u);
}

TEST(DatagramGate, AHelloBeforeAnyWelcomeMayNameNoIslandButNothingElseMay) {
  DatagramGate gate("blue", true, {});
  auto hello = heartbeat(1);
  hello.type = DatagramType::hello;
  hello.island.clear();
  EXPECT_EQ(verdict(gate, hello), "accepted");
  auto bye = heartbeat(2);
  bye.type = DatagramType::bye;
  bye.island.clear();
  EXPECT_EQ(verdict(gate, bye), "wrong_island");
}

TEST(DatagramGate, SignedDatagramsAreCheckedForReplayAndFreshness) {
  DatagramGate gate("blue", true, {});
  EXPECT_EQ(verdict(gate, heartbeat(5)), "accepted");
  EXPECT_EQ(verdict(gate, heartbeat(5)), "replayed");
  EXPECT_EQ(verdict(gate, heartbeat(4)), "accepted");  // reordered
  EXPECT_EQ(verdict(gate, heartbeat(6, 99)), "old_incarnation");
  EXPECT_EQ(verdict(gate, heartbeat(6), kServer, kNow + 31'000), "stale");
  EXPECT_EQ(verdict(gate, heartbeat(6), kServer, kNow - 31'000), "future");
  EXPECT_EQ(verdict(gate, heartbeat(1, 101)), "accepted");  // restarted
}

TEST(DatagramGate, WithoutASecretThereIsNoReplayStateForAForgerToPoison) {
  DatagramGate gate("blue", false, {});
  auto poisoned = heartbeat(UINT64_MAX, UINT64_MAX);
  poisoned.ts = 0;
  EXPECT_EQ(verdict(gate, poisoned), "accepted");
  EXPECT_EQ(verdict(gate, heartbeat(5)), "accepted");
  EXPECT_EQ(gate.senders_tracked(), 0u);
}

}  // namespace
}  // namespace isla::gateway

namespace isla::gateway {
namespace {

TEST(DatagramGate, AnotherGatewaysFailureDetectorDatagramsPassAndAreReplayChecked) {
  DatagramGate gate("blue", true, DatagramLimits{});
  std::uint64_t seq = 0;
  for (auto type : {DatagramType::ping, DatagramType::ack, DatagramType::ping_req,
                    DatagramType::nack, DatagramType::heartbeat, DatagramType::bye}) {
    auto datagram = heartbeat(++seq);
    datagram.role = "gateway";
    datagram.figures.clear();
    datagram.type = type;
    EXPECT_EQ(verdict(gate, datagram), "accepted") << membership::to_string(type);
    EXPECT_EQ(verdict(gate, datagram), "replayed") << membership::to_string(type);
  }
  auto elsewhere = heartbeat(++seq);
  elsewhere.role = "gateway";
  elsewhere.type = DatagramType::ping;
  elsewhere.island = "red";
  EXPECT_EQ(verdict(gate, elsewhere), "wrong_island");
}

}  // namespace
}  // namespace isla::gateway
