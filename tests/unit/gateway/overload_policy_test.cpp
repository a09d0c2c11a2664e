#include "gateway/overload_policy.hpp"

#include <gtest/gtest.h>

#include <map>

namespace isla::gateway {
namespace {

using namespace std::chrono_literals;

PeerView peer(std::string address, std::uint32_t in_flight, std::uint32_t capacity = 0,
              std::string state = "alive", bool draining = false, bool saturated = false) {
  PeerView view;
  view.address = address;
  view.endpoint = *core::parse_endpoint(address);
  view.state = std::move(state);
  view.load.in_flight = in_flight;
  view.load.capacity = capacity;
  view.load.saturated = saturated;
  view.draining = draining;
  return view;
}

TEST(OverloadPolicy, SaturatedByInFlightOrQueueDelayOnlyWhenLimited) {
  OverloadOptions unlimited;
  EXPECT_FALSE(saturated(unlimited, 1'000'000, 10'000ms));
  OverloadOptions limited;
  limited.max_inflight = 32;
  EXPECT_FALSE(saturated(limited, 31, 0ms));
  EXPECT_TRUE(saturated(limited, 32, 0ms));
  limited.max_queue_delay = 50ms;
  EXPECT_FALSE(saturated(limited, 0, 49ms));
  EXPECT_TRUE(saturated(limited, 0, 50ms));
}

TEST(OverloadPolicy, AGatewayWithRoomServesLocally) {
  core::SeededRandom random(1);
  PeerSnapshot peers{{peer("127.0.0.2:5235", 0)}};
  const auto decision = place(false, false, 0, 2, peers, {}, random);
  EXPECT_EQ(decision.placement, Placement::local);
}

TEST(OverloadPolicy, ASaturatedGatewayForwardsToTheLeastLoadedPeerThatTakesRequests) {
  core::SeededRandom random(1);
  PeerSnapshot peers{
      {peer("127.0.0.2:5235", 3), peer("127.0.0.3:5235", 1),
       peer("127.0.0.4:5235", 0, 0, "suspect"), peer("127.0.0.5:5235", 0, 0, "alive", true),
       peer("127.0.0.6:5235", 0, 0, "alive", false, true), peer("127.0.0.7:5235", 0, 0, "dead")}};
  const auto decision = place(true, false, 0, 2, peers, {}, random);
  ASSERT_EQ(decision.placement, Placement::forward);
  EXPECT_EQ(decision.peer->address, "127.0.0.3:5235");
  // Once tried, it is skipped.
  const auto next = place(true, false, 0, 2, peers, {"127.0.0.3:5235"}, random);
  ASSERT_EQ(next.placement, Placement::forward);
  EXPECT_EQ(next.peer->address, "127.0.0.2:5235");
}

TEST(OverloadPolicy, LimitedPeersCompareByTheFractionOfTheirCapacity) {
  core::SeededRandom random(1);
  // 30 of 32 is busier than 40 with no limit? No: limited peers count by fraction (x1000),
  // so an unlimited peer at 40 is preferred over one at 30/32 but not over one at 1/32.
  PeerSnapshot peers{{peer("127.0.0.2:5235", 30, 32), peer("127.0.0.3:5235", 40)}};
  EXPECT_EQ(place(true, false, 0, 2, peers, {}, random).peer->address, "127.0.0.3:5235");
  PeerSnapshot idle{{peer("127.0.0.2:5235", 0, 32), peer("127.0.0.3:5235", 40)}};
  EXPECT_EQ(place(true, false, 0, 2, idle, {}, random).peer->address, "127.0.0.2:5235");
}

TEST(OverloadPolicy, EveryPeerSaturatedOrHopLimitReachedRefuses) {
  core::SeededRandom random(1);
  PeerSnapshot busy{{peer("127.0.0.2:5235", 0, 0, "alive", false, true)}};
  EXPECT_EQ(place(true, false, 0, 2, busy, {}, random).placement, Placement::refuse);
  PeerSnapshot idle{{peer("127.0.0.2:5235", 0)}};
  EXPECT_EQ(place(true, false, 2, 2, idle, {}, random).placement, Placement::refuse);
  EXPECT_EQ(place(true, false, 1, 2, idle, {}, random).placement, Placement::forward);
  EXPECT_EQ(place(true, false, 0, 2, PeerSnapshot{}, {}, random).placement, Placement::refuse);
}

TEST(OverloadPolicy, ADrainingGatewayHandsOffWhatAPeerTakesAndServesTheRestItself) {
  core::SeededRandom random(1);
  PeerSnapshot idle{{peer("127.0.0.2:5235", 0)}};
  EXPECT_EQ(place(false, true, 0, 2, idle, {}, random).placement, Placement::forward);
  EXPECT_EQ(place(false, true, 2, 2, idle, {}, random).placement, Placement::local);
  EXPECT_EQ(place(true, true, 0, 2, PeerSnapshot{}, {}, random).placement, Placement::local);
}

TEST(OverloadPolicy, TiesAreSharedAmongEqualPeers) {
  core::SeededRandom random(7);
  PeerSnapshot peers{
      {peer("127.0.0.2:5235", 5), peer("127.0.0.3:5235", 5), peer("127.0.0.4:5235", 5)}};
  std::map<std::string, int> chosen;
  for (int i = 0; i < 3000; ++i)
    ++chosen[place(true, false, 0, 2, peers, {}, random).peer->address];
  ASSERT_EQ(chosen.size(), 3u);
  for (const auto& [address, count] : chosen) EXPECT_GT(count, 800) << address;
}

}  // namespace
}  // namespace isla::gateway
