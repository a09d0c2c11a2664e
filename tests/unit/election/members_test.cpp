#include "election/members.hpp"

#include <gtest/gtest.h>

#include "election/term.hpp"

namespace isla::election {
namespace {

TEST(Rank, PriorityFirstThenTheGreaterId) {
  EXPECT_TRUE(outranks({"a:1", 2}, {"z:1", 1}));
  EXPECT_TRUE(outranks({"b:1", 1}, {"a:1", 1}));
  EXPECT_FALSE(outranks({"a:1", 1}, {"a:1", 1}));
}

TEST(Members, TheRingIsOrderedByIdFromThisNode) {
  Members members({"c:1", 0});
  members.assign({{"e:1", 0}, {"a:1", 9}, {"b:1", 0}, {"c:1", 0}, {"d:1", 0}, {"a:1", 1}});
  EXPECT_EQ(members.arc_to("c:1"), (std::vector<NodeId>{"d:1", "e:1", "a:1", "b:1"}));
  EXPECT_EQ(members.arc_to("a:1"), (std::vector<NodeId>{"d:1", "e:1", "a:1"}));
  EXPECT_EQ(members.arc_to("d:1"), (std::vector<NodeId>{"d:1"}));
  // An initiator this node does not know ends the walk where it would stand.
  EXPECT_EQ(members.arc_to("a:0"), (std::vector<NodeId>{"d:1", "e:1"}));
  EXPECT_EQ(members.others(), (std::vector<NodeId>{"a:1", "b:1", "d:1", "e:1"}));
  const auto above = members.above_self();
  ASSERT_EQ(above.size(), 3u);
  EXPECT_EQ(above[0], (Candidate{"a:1", 9}));  // the first report of a duplicate id counts
}

TEST(Members, ThisNodeIsAlwaysAMember) {
  Members members({"b:1", 5});
  members.assign({{"a:1", 0}, {"b:1", 0}});
  EXPECT_TRUE(members.contains("b:1"));
  EXPECT_TRUE(members.above_self().empty());  // its own priority, not the report's
  members.assign({});
  EXPECT_TRUE(members.arc_to("b:1").empty());
}

TEST(Members, PrioritiesAnnouncedInMessagesFillInWhatTheMembershipLayerDoesNotKnow) {
  Members members({"b:1", 0});
  members.assign({{"a:1", 0}, {"c:1", 0}});
  EXPECT_EQ(members.above_self().size(), 1u);  // only c:1, by its id
  members.heard_from({"a:1", 5});
  ASSERT_EQ(members.above_self().size(), 2u);
  EXPECT_EQ(members.above_self()[0], (Candidate{"a:1", 5}));
  members.assign({{"a:1", 0}, {"c:1", 0}});  // a new view, still without priorities
  EXPECT_EQ(members.above_self()[0], (Candidate{"a:1", 5}));
  members.assign({{"a:1", 0}, {"c:1", 0}});
  members.heard_from({"b:1", 9});  // a message claiming to be this node changes nothing
  EXPECT_EQ(members.self(), (Candidate{"b:1", 0}));
  EXPECT_EQ(members.above_self().size(), 2u);
}

TEST(Term, EachLeaderHasItsOwnLaneAndRoundsOnlyGrow) {
  const auto first = first_term_after(0, "127.0.0.1:5001");
  const auto other = first_term_after(0, "127.0.0.1:5002");
  EXPECT_NE(first, other);
  EXPECT_EQ(round_of(first), 1u);
  EXPECT_EQ(round_of(other), 1u);
  const auto next = first_term_after(std::max(first, other), "127.0.0.1:5001");
  EXPECT_GT(next, std::max(first, other));
  EXPECT_EQ(round_of(next), 2u);
  EXPECT_EQ(next & 0xffffffffu, lane_of("127.0.0.1:5001"));
}

}  // namespace
}  // namespace isla::election
