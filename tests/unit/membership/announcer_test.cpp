#include "membership/announcer.hpp"

#include <gtest/gtest.h>

namespace isla::membership {
namespace {

using namespace std::chrono_literals;

const core::Endpoint kGateway{"127.0.0.1", 5235};

// The announcer's receiving side, fed datagrams directly (its UDP socket sends nowhere that
// matters: nothing is started).
class AnnouncerTest : public ::testing::Test {
 protected:
  explicit AnnouncerTest(std::string secret = "k1", bool broadcast = false)
      : announcer_(
            context_, udp_, clock_, random_, options(std::move(secret), broadcast),
            [] { return Datagram{}; },
            [this](const std::string& island) { islands_.push_back(island); }) {}

  static AnnouncerOptions options(std::string secret, bool broadcast) {
    AnnouncerOptions options;
    options.seeds = {kGateway};
    options.secret = std::move(secret);
    if (broadcast) {
      options.broadcast = core::Endpoint{"127.255.255.255", 5235};
      options.max_discovered = 2;
    }
    return options;
  }

  static Datagram from_gateway(DatagramType type, std::uint64_t seq,
                               std::uint64_t incarnation = 100) {
    Datagram datagram;
    datagram.type = type;
    datagram.node = kGateway.str();
    datagram.role = "gateway";
    datagram.island = "blue";
    datagram.incarnation = incarnation;
    datagram.seq = seq;
    datagram.ts = wall_clock_ms();
    return datagram;
  }

  asio::io_context context_;
  net::UdpEndpoint udp_{context_, core::Endpoint{"127.0.0.1", 0}};
  core::FakeClock clock_;
  core::SeededRandom random_{1};
  std::vector<std::string> islands_;
  Announcer announcer_;
};

TEST_F(AnnouncerTest, AWelcomeNamesTheIslandAndAReplayedByeIsIgnored) {
  announcer_.on_datagram(from_gateway(DatagramType::welcome, 1), kGateway);
  EXPECT_EQ(announcer_.answering_seeds(), 1u);
  EXPECT_EQ(islands_, std::vector<std::string>{"blue"});
  const auto bye = from_gateway(DatagramType::bye, 2);
  announcer_.on_datagram(bye, kGateway);
  EXPECT_EQ(announcer_.answering_seeds(), 0u);
  announcer_.on_datagram(from_gateway(DatagramType::welcome, 3), kGateway);
  announcer_.on_datagram(bye, kGateway);  // captured and sent again
  EXPECT_EQ(announcer_.answering_seeds(), 1u);
}

TEST_F(AnnouncerTest, AReplayedWelcomeDoesNotKeepASilentGatewayAnswering) {
  const auto welcome = from_gateway(DatagramType::welcome, 1);
  announcer_.on_datagram(welcome, kGateway);
  clock_.advance(1500ms);  // past the seed timeout: the gateway went silent
  EXPECT_EQ(announcer_.answering_seeds(), 0u);
  announcer_.on_datagram(welcome, kGateway);
  EXPECT_EQ(announcer_.answering_seeds(), 0u);
  auto stale = from_gateway(DatagramType::welcome, 2);
  stale.ts -= 60'000;
  announcer_.on_datagram(stale, kGateway);
  EXPECT_EQ(announcer_.answering_seeds(), 0u);
  // A restarted gateway (new incarnation) is believed at once.
  announcer_.on_datagram(from_gateway(DatagramType::welcome, 1, 101), kGateway);
  EXPECT_EQ(announcer_.answering_seeds(), 1u);
}

TEST_F(AnnouncerTest, DatagramsFromOtherThanASeedAreIgnored) {
  announcer_.on_datagram(from_gateway(DatagramType::welcome, 1), {"127.0.0.2", 5235});
  EXPECT_EQ(announcer_.answering_seeds(), 0u);
  EXPECT_TRUE(islands_.empty());
}

class UnsignedAnnouncerTest : public AnnouncerTest {
 protected:
  UnsignedAnnouncerTest() : AnnouncerTest("") {}
};

TEST_F(UnsignedAnnouncerTest, WithoutASecretThereIsNoReplayCheck) {
  const auto welcome = from_gateway(DatagramType::welcome, 0);
  announcer_.on_datagram(welcome, kGateway);
  clock_.advance(1500ms);
  announcer_.on_datagram(welcome, kGateway);
  EXPECT_EQ(announcer_.answering_seeds(), 1u);
}

class DiscoveringAnnouncerTest : public AnnouncerTest {
 protected:
  DiscoveringAnnouncerTest() : AnnouncerTest("k1", true) {}

  static Datagram welcome_from(const core::Endpoint& gateway) {
    auto datagram = from_gateway(DatagramType::welcome, 1);
    datagram.node = gateway.str();
    return datagram;
  }
};

TEST_F(DiscoveringAnnouncerTest, AGatewayThatWelcomesABroadcastHelloBecomesASeedUpToALimit) {
  const core::Endpoint second{"127.0.0.2", 5235};
  announcer_.on_datagram(welcome_from(second), second);
  EXPECT_EQ(announcer_.answering_seeds(), 1u);
  // Naming another address than the one it speaks from: not believed.
  const core::Endpoint third{"127.0.0.3", 5235};
  announcer_.on_datagram(welcome_from(third), {"127.0.0.9", 5235});
  EXPECT_EQ(announcer_.answering_seeds(), 1u);
  // Only a welcome finds a gateway; a bye from a stranger does not.
  auto bye = welcome_from(third);
  bye.type = DatagramType::bye;
  announcer_.on_datagram(bye, third);
  EXPECT_EQ(announcer_.answering_seeds(), 1u);
  announcer_.on_datagram(welcome_from(third), third);
  EXPECT_EQ(announcer_.answering_seeds(), 2u);
  const core::Endpoint fourth{"127.0.0.4", 5235};  // past max_discovered
  announcer_.on_datagram(welcome_from(fourth), fourth);
  EXPECT_EQ(announcer_.answering_seeds(), 2u);
}

}  // namespace
}  // namespace isla::membership
