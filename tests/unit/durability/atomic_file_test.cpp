#include "durability/atomic_file.hpp"

#include <gtest/gtest.h>

#include "durability/fault_injecting_file_system.hpp"
#include "test_file_systems.hpp"

namespace isla::durability {
namespace {

using testing::Backend;
using testing::TestFileSystem;

class AtomicFileTest : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override { disk_.fs().create_directories(disk_.root()); }

  TestFileSystem disk_{GetParam()};
  std::filesystem::path path_ = disk_.root() / "hard_state";
};

TEST_P(AtomicFileTest, ReadsBackWhatWasWritten) {
  EXPECT_EQ(read_if_exists(disk_.fs(), path_), std::nullopt);
  write_atomically(disk_.fs(), path_, "term=3 vote=2");
  EXPECT_EQ(read_if_exists(disk_.fs(), path_), "term=3 vote=2");
  write_atomically(disk_.fs(), path_, std::string("term=4\0", 7));
  EXPECT_EQ(read_if_exists(disk_.fs(), path_), std::string("term=4\0", 7));
}

TEST_P(AtomicFileTest, SurvivesACrashOnceWritten) {
  write_atomically(disk_.fs(), path_, "durable");
  disk_.crash();
  EXPECT_EQ(read_if_exists(disk_.fs(), path_), "durable");
}

INSTANTIATE_TEST_SUITE_P(Backends, AtomicFileTest,
                         ::testing::Values(Backend::kFaultInjecting, Backend::kPosix),
                         testing::backend_name);

constexpr CrashMode kCrashModes[] = {CrashMode::kDropUnsynced, CrashMode::kTearUnsynced,
                                     CrashMode::kTearUnsyncedAsZeros};

// Crashes `write` after 0, 1, 2, ... file-system operations, in every crash mode and with
// several seeds, and hands `check` what the disk kept each time. Returns how many crash points
// there were.
template <typename Prepare, typename Write, typename Check>
int at_every_crash_point(Prepare prepare, Write write, Check check) {
  int crash_points = 0;
  for (CrashMode mode : kCrashModes) {
    for (std::uint64_t seed = 1; seed <= 5; ++seed) {
      for (std::size_t operations = 0;; ++operations) {
        FaultInjectingFileSystem fs(seed);
        fs.create_directories("/state");
        prepare(fs);
        fs.crash_after_operations(operations);
        try {
          write(fs);
        } catch (const SimulatedCrash&) {
          fs.crash(mode);
          SCOPED_TRACE("crash after " + std::to_string(operations) + " operations, seed " +
                       std::to_string(seed));
          check(fs);
          ++crash_points;
          continue;
        }
        break;  // the write finished before the crash point: every point has been tried
      }
    }
  }
  return crash_points;
}

TEST(AtomicFileCrash, OverwriteLeavesTheOldOrTheNewContentsNeverAMixture) {
  const std::string old_contents(300, 'o');
  const std::string new_contents(500, 'n');
  const int crash_points = at_every_crash_point(
      [&](FileSystem& fs) { write_atomically(fs, "/state/file", old_contents); },
      [&](FileSystem& fs) { write_atomically(fs, "/state/file", new_contents); },
      [&](FileSystem& fs) {
        const auto kept = read_if_exists(fs, "/state/file");
        ASSERT_TRUE(kept.has_value());
        EXPECT_TRUE(*kept == old_contents || *kept == new_contents)
            << "kept " << kept->size() << " bytes";
        // A later write still works over whatever the crash left behind.
        write_atomically(fs, "/state/file", "after");
        EXPECT_EQ(read_if_exists(fs, "/state/file"), "after");
      });
  // create, append, sync, close, rename, sync_directory: six points, in 3 modes x 5 seeds.
  EXPECT_EQ(crash_points, 6 * 3 * 5);
}

TEST(AtomicFileCrash, FirstWriteLeavesNothingOrTheNewContents) {
  const std::string contents(200, 'n');
  at_every_crash_point([](FileSystem&) {},
                       [&](FileSystem& fs) { write_atomically(fs, "/state/file", contents); },
                       [&](FileSystem& fs) {
                         const auto kept = read_if_exists(fs, "/state/file");
                         EXPECT_TRUE(!kept || *kept == contents);
                       });
}

// The harness is only worth trusting if it catches the bug write_atomically exists to avoid:
// rewriting the file in place.
TEST(AtomicFileCrash, TheHarnessCatchesAnInPlaceRewrite) {
  const std::string old_contents(300, 'o');
  const std::string new_contents(500, 'n');
  bool saw_damage = false;
  at_every_crash_point([&](FileSystem& fs) { write_atomically(fs, "/state/file", old_contents); },
                       [&](FileSystem& fs) {
                         auto file = fs.create("/state/file");
                         file->append(new_contents);
                         file->sync();
                       },
                       [&](FileSystem& fs) {
                         const auto kept = read_if_exists(fs, "/state/file");
                         if (kept != old_contents && kept != new_contents) saw_damage = true;
                       });
  EXPECT_TRUE(saw_damage);
}

}  // namespace
}  // namespace isla::durability
