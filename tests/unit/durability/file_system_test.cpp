#include <gtest/gtest.h>

#include <set>
#include <system_error>

#include "durability/fault_injecting_file_system.hpp"
#include "test_file_systems.hpp"

namespace isla::durability {
namespace {

using testing::Backend;
using testing::TestFileSystem;

// The FileSystem contract, which the fake must honour exactly as the real disk does.
class FileSystemContract : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override { disk_.fs().create_directories(dir_); }

  TestFileSystem disk_{GetParam()};
  FileSystem& fs_ = disk_.fs();
  std::filesystem::path dir_ = disk_.root() / "files";
};

TEST_P(FileSystemContract, AppendedBytesCanBeReadBack) {
  auto file = fs_.create(dir_ / "a");
  file->append("hello ");
  file->append(std::string("\0world", 6));
  EXPECT_EQ(file->size(), 12u);
  file->sync();
  file->close();
  EXPECT_EQ(fs_.read_file(dir_ / "a"), std::string("hello \0world", 12));
}

TEST_P(FileSystemContract, OpenForAppendContinuesAtTheEnd) {
  disk_.overwrite(dir_ / "a", "abc");
  auto file = fs_.open_for_append(dir_ / "a");
  EXPECT_EQ(file->size(), 3u);
  file->append("def");
  file->close();
  EXPECT_EQ(fs_.read_file(dir_ / "a"), "abcdef");
}

TEST_P(FileSystemContract, CreateEmptiesAnExistingFile) {
  disk_.overwrite(dir_ / "a", "old contents");
  auto file = fs_.create(dir_ / "a");
  EXPECT_EQ(file->size(), 0u);
  file->append("new");
  file->close();
  EXPECT_EQ(fs_.read_file(dir_ / "a"), "new");
}

TEST_P(FileSystemContract, ListsFilesAndDirectoriesSortedByName) {
  disk_.overwrite(dir_ / "b", "");
  disk_.overwrite(dir_ / "a", "");
  fs_.create_directories(dir_ / "c" / "deeper");
  EXPECT_EQ(fs_.list_directory(dir_), (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(fs_.list_directory(dir_ / "c"), std::vector<std::string>{"deeper"});
}

TEST_P(FileSystemContract, RenameReplacesTheTarget) {
  disk_.overwrite(dir_ / "new", "new");
  disk_.overwrite(dir_ / "old", "old");
  fs_.rename(dir_ / "new", dir_ / "old");
  EXPECT_FALSE(fs_.exists(dir_ / "new"));
  EXPECT_EQ(fs_.read_file(dir_ / "old"), "new");
}

TEST_P(FileSystemContract, RemoveAndExists) {
  disk_.overwrite(dir_ / "a", "x");
  EXPECT_TRUE(fs_.exists(dir_ / "a"));
  EXPECT_TRUE(fs_.exists(dir_));
  fs_.remove(dir_ / "a");
  EXPECT_FALSE(fs_.exists(dir_ / "a"));
  EXPECT_THROW(fs_.remove(dir_ / "a"), std::system_error);
}

TEST_P(FileSystemContract, TruncateShortensTheFile) {
  disk_.overwrite(dir_ / "a", "abcdef");
  fs_.truncate(dir_ / "a", 2);
  EXPECT_EQ(fs_.read_file(dir_ / "a"), "ab");
}

TEST_P(FileSystemContract, CreateDirectoriesIsIdempotent) {
  fs_.create_directories(dir_ / "x" / "y");
  fs_.create_directories(dir_ / "x" / "y");
  EXPECT_TRUE(fs_.exists(dir_ / "x" / "y"));
}

TEST_P(FileSystemContract, ErrorsNameThePath) {
  try {
    fs_.read_file(dir_ / "missing");
    FAIL() << "reading a missing file succeeded";
  } catch (const std::system_error& error) {
    EXPECT_EQ(error.code(), std::errc::no_such_file_or_directory);
    EXPECT_NE(std::string(error.what()).find("missing"), std::string::npos) << error.what();
  }
  EXPECT_THROW(fs_.create(dir_ / "no-such-dir" / "a"), std::system_error);
  EXPECT_THROW(fs_.list_directory(dir_ / "no-such-dir"), std::system_error);
}

TEST_P(FileSystemContract, ClosedFileRefusesWrites) {
  auto file = fs_.create(dir_ / "a");
  file->close();
  EXPECT_THROW(file->append("x"), DurabilityError);
}

INSTANTIATE_TEST_SUITE_P(Backends, FileSystemContract,
                         ::testing::Values(Backend::kFaultInjecting, Backend::kPosix),
                         testing::backend_name);

// What only the fake can show: which bytes and entries a power cut takes away.
class FaultInjectingFileSystemTest : public ::testing::Test {
 protected:
  void SetUp() override { fs_.create_directories("/d"); }

  // A durable file: synced data and a synced directory entry.
  void write_durably(const std::string& path, std::string_view bytes) {
    auto file = fs_.create(path);
    file->append(bytes);
    file->sync();
    fs_.sync_directory("/d");
  }

  FaultInjectingFileSystem fs_{42};
};

TEST_F(FaultInjectingFileSystemTest, CrashKeepsSyncedBytesAndDropsTheRest) {
  auto file = fs_.create("/d/a");
  fs_.sync_directory("/d");
  file->append("synced");
  file->sync();
  file->append(" lost");
  EXPECT_EQ(fs_.synced_size("/d/a"), 6u);
  fs_.crash();
  EXPECT_EQ(fs_.read_file("/d/a"), "synced");
}

TEST_F(FaultInjectingFileSystemTest, CreateWithoutDirectorySyncIsLost) {
  auto file = fs_.create("/d/a");
  file->append("data");
  file->sync();  // the data is durable, but nothing durable points at it
  fs_.crash();
  EXPECT_FALSE(fs_.exists("/d/a"));
}

TEST_F(FaultInjectingFileSystemTest, UnsyncedRemoveAndRenameAreUndone) {
  write_durably("/d/a", "a");
  write_durably("/d/b", "b");
  fs_.remove("/d/a");
  fs_.rename("/d/b", "/d/c");
  fs_.crash();
  EXPECT_EQ(fs_.list_directory("/d"), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(fs_.read_file("/d/b"), "b");
}

TEST_F(FaultInjectingFileSystemTest, DirectorySyncMakesRenameAndRemoveDurable) {
  write_durably("/d/a", "a");
  write_durably("/d/b", "b");
  fs_.remove("/d/a");
  fs_.rename("/d/b", "/d/c");
  fs_.sync_directory("/d");
  fs_.crash();
  EXPECT_EQ(fs_.list_directory("/d"), std::vector<std::string>{"c"});
  EXPECT_EQ(fs_.read_file("/d/c"), "b");
}

TEST_F(FaultInjectingFileSystemTest, TearingKeepsARandomPrefixOfTheUnsyncedBytes) {
  const std::string unsynced = "0123456789abcdefghijklmnopqrstuvwxyz";
  std::set<std::size_t> kept_lengths;
  for (int round = 0; round < 20; ++round) {
    write_durably("/d/a", "synced|");
    auto file = fs_.open_for_append("/d/a");
    file->append(unsynced);
    fs_.crash(CrashMode::kTearUnsynced);
    const std::string after = fs_.read_file("/d/a");
    ASSERT_GE(after.size(), 7u);
    EXPECT_EQ(after, ("synced|" + unsynced).substr(0, after.size()));
    kept_lengths.insert(after.size());
  }
  EXPECT_GT(kept_lengths.size(), 3u) << "the cut should land in different places";
}

TEST_F(FaultInjectingFileSystemTest, TearingAsZerosKeepsTheLengthButNotTheData) {
  bool saw_zeros = false;
  for (int round = 0; round < 10 && !saw_zeros; ++round) {
    write_durably("/d/a", "synced");
    auto file = fs_.open_for_append("/d/a");
    file->append("unsynced");
    fs_.crash(CrashMode::kTearUnsyncedAsZeros);
    const std::string after = fs_.read_file("/d/a");
    EXPECT_EQ(after.substr(0, 6), "synced");
    EXPECT_EQ(after.substr(6), std::string(after.size() - 6, '\0'));
    saw_zeros = after.size() > 6;
  }
  EXPECT_TRUE(saw_zeros);
}

TEST_F(FaultInjectingFileSystemTest, TheSameSeedTearsTheSameWay) {
  const auto torn_length = [](std::uint64_t seed) {
    FaultInjectingFileSystem fs(seed);
    auto file = fs.create("/a");
    fs.sync_directory("/");
    file->append(std::string(1000, 'x'));
    fs.crash(CrashMode::kTearUnsynced);
    return fs.read_file("/a").size();
  };
  EXPECT_EQ(torn_length(7), torn_length(7));
  EXPECT_NE(torn_length(7), torn_length(8));
}

TEST_F(FaultInjectingFileSystemTest, FailedSyncThrowsAndSyncsNothing) {
  write_durably("/d/a", "synced");
  auto file = fs_.open_for_append("/d/a");
  file->append(" more");
  fs_.fail_next_sync();
  EXPECT_THROW(file->sync(), std::system_error);
  EXPECT_EQ(fs_.synced_size("/d/a"), 6u);
  file->sync();  // only the next sync fails
  EXPECT_EQ(fs_.synced_size("/d/a"), 11u);
}

TEST_F(FaultInjectingFileSystemTest, FailedDirectorySyncKeepsEntriesVolatile) {
  fs_.create("/d/a");
  fs_.fail_next_sync();
  EXPECT_THROW(fs_.sync_directory("/d"), std::system_error);
  fs_.crash();
  EXPECT_FALSE(fs_.exists("/d/a"));
}

TEST_F(FaultInjectingFileSystemTest, CorruptFlipsOneByte) {
  write_durably("/d/a", "abc");
  fs_.corrupt("/d/a", 1);
  EXPECT_EQ(fs_.read_file("/d/a"), std::string("a") + static_cast<char>(~'b') + "c");
  EXPECT_THROW(fs_.corrupt("/d/a", 3), std::out_of_range);
}

TEST_F(FaultInjectingFileSystemTest, ArmedCrashStopsEverythingUntilCrash) {
  write_durably("/d/a", "kept");
  auto file = fs_.open_for_append("/d/a");
  fs_.crash_after_operations(1);
  file->append(" written");  // operation 1 happens
  EXPECT_THROW(file->sync(), SimulatedCrash);
  EXPECT_THROW(fs_.read_file("/d/a"), SimulatedCrash);
  EXPECT_THROW(fs_.create("/d/b"), SimulatedCrash);
  fs_.crash();
  EXPECT_EQ(fs_.read_file("/d/a"), "kept");
  // Handles from before the crash belong to a dead process.
  EXPECT_THROW(file->append("x"), DurabilityError);
}

TEST_F(FaultInjectingFileSystemTest, CountsFileSyncs) {
  auto file = fs_.create("/d/a");
  file->append("x");
  file->sync();
  file->sync();
  fs_.sync_directory("/d");
  EXPECT_EQ(fs_.file_syncs(), 2u);
}

}  // namespace
}  // namespace isla::durability
