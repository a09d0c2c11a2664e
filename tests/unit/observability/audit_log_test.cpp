#include "observability/audit_log.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

namespace isla::observability {
namespace {

class AuditLogTest : public ::testing::Test {
 protected:
  std::filesystem::path dir_ =
      std::filesystem::temp_directory_path() / ("isla-audit-" + std::to_string(::getpid()));
  std::filesystem::path path_ = dir_ / "nested" / "audit.log";
  void SetUp() override { std::filesystem::remove_all(dir_); }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::vector<boost::json::object> lines() const {
    std::ifstream in(path_);
    std::vector<boost::json::object> out;
    for (std::string line; std::getline(in, line);) {
      out.push_back(boost::json::parse(line).as_object());
    }
    return out;
  }
};

TEST_F(AuditLogTest, NothingIsCreatedUntilTheFirstLine) {
  AuditLog log(path_, "127.0.0.1:5235");
  EXPECT_FALSE(std::filesystem::exists(dir_));
  log.record("auth_failed", {{"reason", "no_token"}});
  ASSERT_TRUE(std::filesystem::exists(path_));
  EXPECT_EQ(std::filesystem::status(path_).permissions() & std::filesystem::perms::all,
            std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  const auto written = lines();
  ASSERT_EQ(written.size(), 1u);
  EXPECT_EQ(written[0].at("event").as_string(), "auth_failed");
  EXPECT_EQ(written[0].at("node").as_string(), "127.0.0.1:5235");
  EXPECT_EQ(written[0].at("reason").as_string(), "no_token");
  EXPECT_TRUE(written[0].at("ts_ms").is_int64());
}

// A flood of failures becomes at most the rate's lines; the next line written says how
// many were left out.
TEST_F(AuditLogTest, AFloodIsRateLimitedAndTheGapIsCounted) {
  AuditLog log(path_, "n", 5);
  for (int i = 0; i < 1000; ++i) log.record("auth_failed", {{"i", i}});
  EXPECT_GE(log.suppressed_total(), 990u - 5u);  // a second boundary may let 5 more through
  const auto before = lines().size();
  EXPECT_LE(before, 10u);
  // Wait for the next second without sleeping blindly: poll until a line gets through.
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (lines().size() == before && std::chrono::steady_clock::now() < give_up) {
    log.record("auth_failed", {{"late", true}});
  }
  const auto written = lines();
  ASSERT_GT(written.size(), before);
  EXPECT_TRUE(written.back().contains("suppressed_before"));
}

}  // namespace
}  // namespace isla::observability
