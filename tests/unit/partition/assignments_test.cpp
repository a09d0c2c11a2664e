#include "partition/assignments.hpp"

#include <gtest/gtest.h>

namespace isla::partition {
namespace {

using namespace std::chrono_literals;
using Set = std::set<std::string>;

class AssignmentsTest : public ::testing::Test {
 protected:
  core::FakeClock clock_;
  Assignments assignments_{1000ms};
};

TEST_F(AssignmentsTest, NothingHeardMeansKeepWhatIsHeld) {
  EXPECT_FALSE(assignments_.wanted(clock_.now()));
}

TEST_F(AssignmentsTest, AnEmptyAssignmentMeansHoldNothing) {
  EXPECT_TRUE(assignments_.update("g1", 1, 1, {}, clock_.now()));
  EXPECT_EQ(assignments_.wanted(clock_.now()), Set{});
}

TEST_F(AssignmentsTest, TheServerHoldsWhatAnyRecentGatewayWants) {
  assignments_.update("g1", 1, 1, {"giraffe"}, clock_.now());
  assignments_.update("g2", 1, 1, {"giraffe", "owl"}, clock_.now());
  EXPECT_EQ(assignments_.wanted(clock_.now()), (Set{"giraffe", "owl"}));
  // g2 goes silent: only g1's counts once it has been silent for the timeout.
  clock_.advance(600ms);
  assignments_.update("g1", 1, 2, {"giraffe"}, clock_.now());
  clock_.advance(600ms);
  EXPECT_EQ(assignments_.wanted(clock_.now()), Set{"giraffe"});
  clock_.advance(1500ms);
  EXPECT_FALSE(assignments_.wanted(clock_.now()));
}

TEST_F(AssignmentsTest, AReorderedOlderAssignmentIsIgnored) {
  EXPECT_TRUE(assignments_.update("g1", 1, 5, {"owl"}, clock_.now()));
  EXPECT_FALSE(assignments_.update("g1", 1, 4, {"giraffe"}, clock_.now()));
  EXPECT_FALSE(assignments_.update("g1", 0, 9, {"giraffe"}, clock_.now()));
  EXPECT_EQ(assignments_.wanted(clock_.now()), Set{"owl"});
  // A restarted gateway starts its sequence again.
  EXPECT_TRUE(assignments_.update("g1", 2, 1, {"giraffe"}, clock_.now()));
  EXPECT_EQ(assignments_.wanted(clock_.now()), Set{"giraffe"});
}

}  // namespace
}  // namespace isla::partition
