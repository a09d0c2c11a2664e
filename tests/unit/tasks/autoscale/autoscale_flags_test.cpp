#include "tasks/autoscale/autoscale_flags.hpp"

#include <gtest/gtest.h>

namespace isla::tasks::autoscale {
namespace {

AutoscalerConfig parse(std::vector<std::string> args) {
  CLI::App app;
  AutoscaleFlags flags;
  add_autoscale_flags(app, flags);
  std::reverse(args.begin(), args.end());  // CLI11 takes them last first
  app.parse(args);
  return flags.config();
}

TEST(AutoscaleFlags, DefaultsAreThePolicyDefaults) {
  const auto parsed = parse({});
  const AutoscalerConfig defaults;
  EXPECT_EQ(parsed.min_workers, defaults.min_workers);
  EXPECT_EQ(parsed.max_workers, defaults.max_workers);
  EXPECT_EQ(parsed.high_utilisation, defaults.high_utilisation);
  EXPECT_EQ(parsed.high_for, defaults.high_for);
  EXPECT_EQ(parsed.low_utilisation, defaults.low_utilisation);
  EXPECT_EQ(parsed.low_for, defaults.low_for);
  EXPECT_EQ(parsed.target_utilisation, defaults.target_utilisation);
  EXPECT_EQ(parsed.scale_up_cooldown, defaults.scale_up_cooldown);
  EXPECT_EQ(parsed.scale_down_cooldown, defaults.scale_down_cooldown);
  EXPECT_EQ(parsed.step_up_min, defaults.step_up_min);
  EXPECT_EQ(parsed.queue_wait_high_ms, defaults.queue_wait_high_ms);
  EXPECT_EQ(parsed.worker_concurrency, defaults.worker_concurrency);
  EXPECT_EQ(parsed.boot_timeout, defaults.boot_timeout);
}

TEST(AutoscaleFlags, FlagsSetTheConfiguration) {
  const auto config = parse({"--min-workers", "2", "--max-workers", "6", "--scale-high", "0.9",
                             "--scale-high-for-ms", "1500", "--scale-low", "0.2",
                             "--scale-low-for-ms", "10000", "--worker-concurrency", "8"});
  EXPECT_EQ(config.min_workers, 2);
  EXPECT_EQ(config.max_workers, 6);
  EXPECT_DOUBLE_EQ(config.high_utilisation, 0.9);
  EXPECT_EQ(config.high_for, Millis(1500));
  EXPECT_DOUBLE_EQ(config.low_utilisation, 0.2);
  EXPECT_EQ(config.low_for, Millis(10'000));
  EXPECT_EQ(config.worker_concurrency, 8);
}

TEST(AutoscaleFlags, ContradictoryFlagsAreAClearError) {
  try {
    parse({"--min-workers", "5", "--max-workers", "2"});
    FAIL() << "accepted";
  } catch (const CLI::ValidationError& error) {
    EXPECT_NE(std::string(error.what()).find("min_workers (5) must not exceed max_workers (2)"),
              std::string::npos)
        << error.what();
  }
  EXPECT_THROW(parse({"--scale-high", "0.5"}), CLI::ValidationError);  // under the 0.6 target
  EXPECT_THROW(parse({"--max-workers", "0"}), CLI::ValidationError);
  EXPECT_THROW(parse({"--scale-low", "lots"}), CLI::ParseError);
}

}  // namespace
}  // namespace isla::tasks::autoscale
