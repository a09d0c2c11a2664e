#include "balancer/backend_set.hpp"

#include <gtest/gtest.h>

#include <stdexcept>

#include "fixtures.hpp"

namespace isla::balancer {
namespace {

using testing::endpoint;

TEST(BackendSet, IdsAreStableAndNeverReused) {
  BackendSet set;
  const auto a = set.add(endpoint(1));
  const auto b = set.add(endpoint(2));
  EXPECT_NE(a, b);
  ASSERT_TRUE(set.remove(a));
  EXPECT_FALSE(set.remove(a));
  EXPECT_EQ(set.find(a), nullptr);
  const auto again = set.add(endpoint(1));
  EXPECT_NE(again, a);
  EXPECT_NE(again, b);
  ASSERT_NE(set.find(b), nullptr);
  EXPECT_EQ(set.find(b)->endpoint, endpoint(2));
  EXPECT_EQ(set.find(endpoint(1)), again);
  EXPECT_EQ(set.find(endpoint(3)), std::nullopt);
}

TEST(BackendSet, RejectsADuplicateEndpointAndWeightsOutOfRange) {
  BackendSet set;
  const auto id = set.add(endpoint(1));
  EXPECT_THROW(set.add(endpoint(1)), std::invalid_argument);
  EXPECT_THROW(set.add(endpoint(2), 0), std::invalid_argument);
  EXPECT_THROW(set.add(endpoint(2), kMaxWeight + 1), std::invalid_argument);
  EXPECT_THROW(set.set_weight(id, 0), std::invalid_argument);
  EXPECT_EQ(set.size(), 1u);
}

TEST(BackendSet, GenerationMovesWithMembershipAndWeightOnly) {
  BackendSet set;
  const auto id = set.add(endpoint(1));
  auto generation = set.generation();
  set.set_up(id, false);
  set.set_ejected(id, true);
  set.request_started(id);
  EXPECT_EQ(set.generation(), generation);
  EXPECT_TRUE(set.set_weight(id, 3));
  EXPECT_GT(set.generation(), generation);
  generation = set.generation();
  set.add(endpoint(2));
  EXPECT_GT(set.generation(), generation);
  generation = set.generation();
  set.remove(id);
  EXPECT_GT(set.generation(), generation);
}

TEST(BackendSet, PickableMeansUpAndNotEjected) {
  BackendSet set;
  const auto ids = testing::add_backends(set, 3);
  EXPECT_EQ(set.pickable_count(), 3u);
  set.set_up(ids[0], false);
  set.set_ejected(ids[1], true);
  EXPECT_EQ(set.pickable_count(), 1u);
  EXPECT_TRUE(set.find(ids[2])->pickable());
  const auto down = set.add(endpoint(4), 1, /*up=*/false);
  EXPECT_FALSE(set.find(down)->pickable());
}

TEST(BackendSet, CountsRequestsAndIgnoresThoseOfARemovedBackend) {
  BackendSet set;
  const auto a = set.add(endpoint(1));
  set.request_started(a);
  set.request_started(a);
  set.request_finished(a);
  EXPECT_EQ(set.find(a)->active_requests, 1);
  set.remove(a);
  set.request_finished(a);  // the request outlived its backend
  const auto b = set.add(endpoint(1));
  set.request_finished(a);
  EXPECT_EQ(set.find(b)->active_requests, 0);
  set.request_finished(b);  // never below zero
  EXPECT_EQ(set.find(b)->active_requests, 0);
}

TEST(BackendSet, ASnapshotIsACopyLaterChangesDoNotReach) {
  BackendSet set;
  const auto a = set.add(endpoint(1));
  const auto snapshot = set.snapshot();
  set.set_up(a, false);
  set.add(endpoint(2));
  ASSERT_EQ(snapshot->size(), 1u);
  EXPECT_TRUE(snapshot->front().up);
  EXPECT_FALSE(set.snapshot()->front().up);
}

}  // namespace
}  // namespace isla::balancer
