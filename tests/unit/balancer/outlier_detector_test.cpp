#include "balancer/outlier_detector.hpp"

#include <gtest/gtest.h>

#include <stdexcept>

#include "fixtures.hpp"

namespace isla::balancer {
namespace {

using namespace std::chrono_literals;

class OutlierDetection : public ::testing::Test {
 protected:
  void SetUp() override { ids_ = testing::add_backends(set_, 4); }

  // `count` outcomes for backend `id`, a millisecond apart; the last one's result.
  std::optional<Ejection> fail(BackendId id, int count, Outcome outcome = Outcome::server_error) {
    std::optional<Ejection> last;
    for (int i = 0; i < count; ++i) last = detector_.record(id, outcome, now_ += 1ms);
    return last;
  }
  bool ejected(BackendId id) const { return set_.find(id)->ejected; }

  BackendSet set_;
  std::vector<BackendId> ids_;
  OutlierDetector detector_{set_};  // defaults: 5 errors, 3 gateway failures, 5 s base, 50 %
  core::SteadyTime now_ = core::SteadyTime{} + 1h;
};

TEST_F(OutlierDetection, ConsecutiveServerErrorsEjectAtTheThreshold) {
  EXPECT_EQ(fail(ids_[0], 4), std::nullopt);
  EXPECT_FALSE(ejected(ids_[0]));
  const auto ejection = fail(ids_[0], 1);
  ASSERT_TRUE(ejection);
  EXPECT_EQ(ejection->id, ids_[0]);
  EXPECT_EQ(ejection->times, 1);
  EXPECT_EQ(ejection->until, now_ + 5s);
  EXPECT_TRUE(ejected(ids_[0]));
  EXPECT_FALSE(set_.find(ids_[0])->pickable());
}

TEST_F(OutlierDetection, ASuccessBreaksTheStreak) {
  fail(ids_[0], 4);
  detector_.record(ids_[0], Outcome::success, now_);
  EXPECT_EQ(fail(ids_[0], 4), std::nullopt);
  EXPECT_FALSE(ejected(ids_[0]));
}

TEST_F(OutlierDetection, GatewayFailuresEjectSooner) {
  EXPECT_EQ(fail(ids_[0], 2, Outcome::gateway_failure), std::nullopt);
  EXPECT_TRUE(fail(ids_[0], 1, Outcome::gateway_failure));
  // A server error breaks a run of gateway failures, but both count as errors.
  fail(ids_[1], 2, Outcome::gateway_failure);
  fail(ids_[1], 1, Outcome::server_error);
  EXPECT_EQ(fail(ids_[1], 1, Outcome::gateway_failure), std::nullopt);
  EXPECT_TRUE(fail(ids_[1], 1, Outcome::gateway_failure));  // the fifth error in a row
}

TEST_F(OutlierDetection, AnEjectedBackendReturnsWhenItsTimeIsUp) {
  const auto ejection = fail(ids_[0], 5);
  ASSERT_TRUE(ejection);
  EXPECT_EQ(detector_.next_return(), ejection->until);
  EXPECT_TRUE(detector_.tick(ejection->until - 1ms).empty());
  EXPECT_TRUE(ejected(ids_[0]));
  EXPECT_EQ(detector_.tick(ejection->until), std::vector<BackendId>{ids_[0]});
  EXPECT_FALSE(ejected(ids_[0]));
  EXPECT_EQ(detector_.next_return(), std::nullopt);
  // Back with a clean slate: it takes a full streak again.
  now_ = ejection->until;
  EXPECT_EQ(fail(ids_[0], 4), std::nullopt);
}

TEST_F(OutlierDetection, OutcomesWhileEjectedChangeNothing) {
  const auto ejection = fail(ids_[0], 5);
  ASSERT_TRUE(ejection);
  EXPECT_EQ(fail(ids_[0], 10), std::nullopt);  // requests that were in flight
  EXPECT_EQ(detector_.next_return(), ejection->until);
}

TEST_F(OutlierDetection, EachEjectionLastsLongerUpToTheCap) {
  OutlierDetector detector(set_, {.base_ejection_time = 10s, .max_ejection_time = 35s});
  const std::vector<std::chrono::milliseconds> expected{10s, 20s, 30s, 35s, 35s};
  for (const auto duration : expected) {
    std::optional<Ejection> ejection;
    for (int i = 0; i < 5; ++i) ejection = detector.record(ids_[0], Outcome::server_error, now_);
    ASSERT_TRUE(ejection);
    EXPECT_EQ(ejection->until - now_, duration);
    now_ = ejection->until;
    detector.tick(now_);
  }
}

TEST_F(OutlierDetection, TimeBackInServiceForgivesPastEjections) {
  OutlierDetector detector(set_, {.base_ejection_time = 10s, .forgive_after = 30s});
  const auto eject = [&] {
    std::optional<Ejection> ejection;
    for (int i = 0; i < 5; ++i) ejection = detector.record(ids_[0], Outcome::server_error, now_);
    now_ = ejection.value().until;
    detector.tick(now_);
    return ejection->times;
  };
  EXPECT_EQ(eject(), 1);
  EXPECT_EQ(eject(), 2);
  EXPECT_EQ(eject(), 3);
  now_ += 65s;  // two forgiven
  EXPECT_EQ(eject(), 2);
  now_ += 10min;  // all forgiven
  EXPECT_EQ(eject(), 1);
}

TEST_F(OutlierDetection, NeverMoreThanTheMaximumShareEjectedAtOnce) {
  // Four backends at 50 %: two may be out, not a third.
  ASSERT_TRUE(fail(ids_[0], 5));
  ASSERT_TRUE(fail(ids_[1], 5));
  EXPECT_EQ(fail(ids_[2], 20), std::nullopt);
  EXPECT_FALSE(ejected(ids_[2]));
  EXPECT_EQ(set_.pickable_count(), 2u);
  // One returns: the next failure of the third may eject it.
  detector_.tick(now_ + 1h);
  EXPECT_TRUE(fail(ids_[2], 1));
  EXPECT_TRUE(ejected(ids_[2]));
}

TEST_F(OutlierDetection, OneMayBeEjectedEvenUnderASmallCap) {
  OutlierDetector detector(set_, {.max_ejection_percent = 10});
  for (int i = 0; i < 5; ++i) detector.record(ids_[0], Outcome::server_error, now_);
  for (int i = 0; i < 5; ++i) detector.record(ids_[1], Outcome::server_error, now_);
  EXPECT_TRUE(ejected(ids_[0]));
  EXPECT_FALSE(ejected(ids_[1]));
}

TEST_F(OutlierDetection, RemovedBackendsAreForgotten) {
  ASSERT_TRUE(fail(ids_[0], 5));
  set_.remove(ids_[0]);
  EXPECT_EQ(fail(ids_[0], 5), std::nullopt);
  EXPECT_TRUE(detector_.tick(now_ + 1h).empty());
  EXPECT_EQ(detector_.next_return(), std::nullopt);
}

TEST_F(OutlierDetection, RejectsNonsense) {
  EXPECT_THROW(OutlierDetector(set_, {.consecutive_errors = 0}), std::invalid_argument);
  EXPECT_THROW(OutlierDetector(set_, {.base_ejection_time = 10s, .max_ejection_time = 5s}),
               std::invalid_argument);
  EXPECT_THROW(OutlierDetector(set_, {.max_ejection_percent = 101}), std::invalid_argument);
}

}  // namespace
}  // namespace isla::balancer
