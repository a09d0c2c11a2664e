#include "gateway/load_meter.hpp"

#include <gtest/gtest.h>

namespace isla::gateway {
namespace {

using namespace std::chrono_literals;

TEST(LoadMeter, CountsRequestsInFlightUntilTheyEnd) {
  LoadMeter meter;
  {
    LoadMeter::InFlight first(meter);
    LoadMeter::InFlight second(meter);
    EXPECT_EQ(meter.in_flight(), 2u);
  }
  EXPECT_EQ(meter.in_flight(), 0u);
}

TEST(LoadMeter, P99IsTakenOverTheRecentWindow) {
  LoadMeter meter;
  for (int i = 0; i < 980; ++i) meter.record_latency(1000us);
  for (int i = 0; i < 20; ++i) meter.record_latency(250'000us);
  meter.sample();
  EXPECT_EQ(meter.p99_ms(), 250u);
  // A window's worth of fast requests pushes the slow ones out.
  for (std::size_t i = 0; i < LoadMeter::kLatencyWindow; ++i) meter.record_latency(2000us);
  meter.sample();
  EXPECT_EQ(meter.p99_ms(), 2u);
}

TEST(LoadMeter, QueueDelayIsTheLargestLagSinceTheLastSample) {
  LoadMeter meter;
  meter.record_loop_lag(3ms);
  meter.record_loop_lag(40ms);
  meter.record_loop_lag(7ms);
  meter.sample();
  EXPECT_EQ(meter.queue_delay(), 40ms);
  meter.sample();  // nothing late since
  EXPECT_EQ(meter.queue_delay(), 0ms);
}

}  // namespace
}  // namespace isla::gateway
