#include "core/hash_ring.hpp"

#include <gtest/gtest.h>

#include <set>

namespace isla::core {
namespace {

TEST(HashRing, AnEmptyRingFindsNothing) {
  HashRing ring;
  EXPECT_TRUE(ring.empty());
  EXPECT_FALSE(ring.first(42, [](HashRing::NodeId) { return true; }));
  EXPECT_TRUE(ring.distinct(42, 3).empty());
}

TEST(HashRing, WeightMultipliesTheNodesPoints) {
  HashRing ring({.points_per_weight = 10, .hash = {}});
  ring.add("a:1", 1);
  ring.add("b:1", 2, 3);
  EXPECT_EQ(ring.points(), 40u);
}

TEST(HashRing, FirstWalksClockwiseToANodeTheCallerAccepts) {
  HashRing ring({.points_per_weight = 1, .hash = [](std::string_view key) -> std::uint64_t {
                   // "a:1#0" at 100, "b:1#0" at 200, keys at their number.
                   if (key == "a:1#0") return 100;
                   if (key == "b:1#0") return 200;
                   return std::stoull(std::string(key));
                 }});
  ring.add("a:1", 1);
  ring.add("b:1", 2);
  const auto any = [](HashRing::NodeId) { return true; };
  EXPECT_EQ(ring.first(50, any), 1u);
  EXPECT_EQ(ring.first(150, any), 2u);
  EXPECT_EQ(ring.first(250, any), 1u);  // wraps round
  EXPECT_EQ(ring.first(50, [](HashRing::NodeId id) { return id == 2; }), 2u);
  EXPECT_FALSE(ring.first(50, [](HashRing::NodeId) { return false; }));
}

TEST(HashRing, DistinctGivesAsManyDifferentNodesAsItHas) {
  HashRing ring;
  for (HashRing::NodeId id = 0; id < 5; ++id) ring.add("node-" + std::to_string(id) + ":1", id);
  for (std::uint64_t point : {0ull, 12345ull, ~0ull}) {
    const auto three = ring.distinct(point, 3);
    EXPECT_EQ(three.size(), 3u);
    EXPECT_EQ(std::set(three.begin(), three.end()).size(), 3u);
    EXPECT_EQ(ring.distinct(point, 9).size(), 5u);
    EXPECT_EQ(ring.distinct(point, 1).front(), three.front());
  }
}

TEST(HashRing, TheOrderOfAddsDoesNotMatter) {
  HashRing forward;
  HashRing backward;
  for (HashRing::NodeId id = 0; id < 6; ++id) forward.add("n" + std::to_string(id), id);
  for (HashRing::NodeId id = 6; id-- > 0;) backward.add("n" + std::to_string(id), id);
  for (std::uint64_t point = 0; point < 1000; ++point) {
    const auto key = forward.hash(std::to_string(point));
    EXPECT_EQ(forward.distinct(key, 2), backward.distinct(key, 2));
  }
}

}  // namespace
}  // namespace isla::core
