#include "membership/gossip_queue.hpp"

#include <gtest/gtest.h>

namespace isla::membership {
namespace {

GossipEntry about(std::string node, MemberState state, std::uint64_t incarnation) {
  return {std::move(node), state, incarnation, {}, std::nullopt};
}

TEST(GossipQueue, SendsEachUpdateALimitedNumberOfTimesFreshestFirst) {
  GossipQueue queue(16);
  queue.push(about("a:1", MemberState::alive, 1));
  queue.push(about("b:1", MemberState::dead, 1));
  auto first = queue.take(1, 2);
  ASSERT_EQ(first.size(), 1u);
  EXPECT_EQ(first[0].node, "b:1") << "the newest goes first";
  auto second = queue.take(1, 2);
  ASSERT_EQ(second.size(), 1u);
  EXPECT_EQ(second[0].node, "a:1") << "then the one sent least";
  EXPECT_EQ(queue.take(8, 2).size(), 2u);
  EXPECT_EQ(queue.size(), 0u) << "each was sent twice, its limit";
  EXPECT_TRUE(queue.take(8, 2).empty());
}

TEST(GossipQueue, ANewerUpdateAboutAMemberReplacesTheOlder) {
  GossipQueue queue(16);
  queue.push(about("a:1", MemberState::suspect, 4));
  queue.push(about("a:1", MemberState::alive, 5));
  auto taken = queue.take(8, 3);
  ASSERT_EQ(taken.size(), 1u);
  EXPECT_EQ(taken[0].state, MemberState::alive);
  EXPECT_EQ(taken[0].incarnation, 5u);
}

TEST(GossipQueue, IsBoundedAndSkipsWhatTheCallerSaysItAlreadyHas) {
  GossipQueue queue(3);
  for (int i = 0; i < 10; ++i)
    queue.push(about("n" + std::to_string(i) + ":1", MemberState::dead, 1));
  EXPECT_EQ(queue.size(), 3u);
  auto taken = queue.take(8, 5, "n9:1");
  EXPECT_EQ(taken.size(), 2u);
  for (const auto& entry : taken) EXPECT_NE(entry.node, "n9:1");
}

}  // namespace
}  // namespace isla::membership
