#include "durability/wal.hpp"

#include <gtest/gtest.h>

#include <set>
#include <system_error>

#include "durability/durability_error.hpp"
#include "durability/fault_injecting_file_system.hpp"
#include "durability/record_codec.hpp"
#include "durability/segment_file.hpp"
#include "test_file_systems.hpp"

namespace isla::durability {
namespace {

using testing::Backend;
using testing::TestFileSystem;

// With 40-byte payloads a record is 49 bytes, so a 100-byte segment holds three:
// segments start at seq 1, 4, 7, 10, ...
const WalOptions kSmallSegments = [] {
  WalOptions options;
  options.segment_bytes = 100;
  return options;
}();

std::string payload(std::uint64_t seq, std::string_view generation = "old") {
  std::string text = std::string(generation) + "-record-" + std::to_string(seq);
  text.resize(40, '.');
  return text;
}

std::uint8_t type_of(std::uint64_t seq) {
  return static_cast<std::uint8_t>(seq % 3);
}

WalRecord record(std::uint64_t seq, std::string_view generation = "old") {
  return {seq, type_of(seq), payload(seq, generation)};
}

std::vector<WalRecord> records(std::uint64_t first, std::uint64_t last,
                               std::string_view generation = "old") {
  std::vector<WalRecord> out;
  for (std::uint64_t seq = first; seq <= last; ++seq) out.push_back(record(seq, generation));
  return out;
}

void append_through(Wal& wal, std::uint64_t last, std::string_view generation = "old") {
  while (wal.last_seq() < last) {
    const std::uint64_t seq = wal.last_seq() + 1;
    ASSERT_EQ(wal.append(type_of(seq), payload(seq, generation)), seq);
  }
}

std::string encoded(std::uint8_t type, std::string_view bytes) {
  std::string out;
  append_encoded_record(out, type, bytes);
  return out;
}

class WalTest : public ::testing::TestWithParam<Backend> {
 protected:
  Wal open(WalOptions options = {}) { return Wal::open(disk_.fs(), dir_, options); }
  std::filesystem::path segment(std::uint64_t first_seq) const {
    return dir_ / segment_file_name(first_seq);
  }
  std::vector<std::uint64_t> segment_first_seqs() {
    std::vector<std::uint64_t> seqs;
    for (const auto& name : disk_.fs().list_directory(dir_)) {
      if (auto seq = parse_segment_file_name(name)) seqs.push_back(*seq);
    }
    return seqs;
  }
  // Three synced records in one segment.
  void write_three_records() {
    auto wal = open();
    append_through(wal, 3);
    wal.sync();
  }

  TestFileSystem disk_{GetParam()};
  std::filesystem::path dir_ = disk_.root() / "wal";
};

TEST_P(WalTest, StartsEmpty) {
  auto wal = open();
  EXPECT_EQ(wal.first_seq(), 1u);
  EXPECT_EQ(wal.last_seq(), 0u);
  EXPECT_EQ(wal.read_from(1), std::vector<WalRecord>{});
  EXPECT_EQ(wal.recovery().last_seq, 0u);
  EXPECT_EQ(segment_first_seqs(), std::vector<std::uint64_t>{1});
}

TEST_P(WalTest, RecordsRoundTripThroughReopen) {
  {
    auto wal = open();
    EXPECT_EQ(wal.append(0, ""), 1u);
    EXPECT_EQ(wal.append(255, std::string("bin\0ary", 7)), 2u);
    EXPECT_EQ(wal.append(9, std::string(100000, 'z')), 3u);
    wal.sync();
    EXPECT_EQ(wal.synced_seq(), 3u);
  }
  auto wal = open();
  const std::vector<WalRecord> expected{
      {1, 0, ""}, {2, 255, std::string("bin\0ary", 7)}, {3, 9, std::string(100000, 'z')}};
  EXPECT_EQ(wal.read_from(1), expected);
  EXPECT_EQ(wal.read_from(3), std::vector<WalRecord>{expected[2]});
  EXPECT_EQ(wal.recovery().last_seq, 3u);
  EXPECT_EQ(wal.recovery().truncated_bytes, 0u);
  EXPECT_EQ(wal.recovery().reason, "");
  EXPECT_THROW(wal.read_from(0), std::out_of_range);
}

TEST_P(WalTest, OnSyncIsToldOfEachSyncThatMadeRecordsDurable) {
  std::vector<double> syncs;
  WalOptions options;
  options.on_sync = [&syncs](double seconds) { syncs.push_back(seconds); };
  auto wal = open(options);
  wal.sync();  // nothing to make durable: no disk work to time
  EXPECT_TRUE(syncs.empty());
  append_through(wal, 2);
  wal.sync();
  append_through(wal, 3);
  wal.sync();
  ASSERT_EQ(syncs.size(), 2u);
  for (double seconds : syncs) {
    EXPECT_GE(seconds, 0.0);
    EXPECT_LT(seconds, 60.0);
  }
}

TEST_P(WalTest, ReadFromIncludesRecordsNotYetSynced) {
  auto wal = open();
  append_through(wal, 2);
  wal.sync();
  append_through(wal, 4);
  EXPECT_EQ(wal.read_from(2), records(2, 4));
}

TEST_P(WalTest, ManyAppendsAndOneSyncSurviveACrash) {
  {
    auto wal = open();
    const std::size_t syncs_before = disk_.fake() ? disk_.fake()->file_syncs() : 0;
    append_through(wal, 1000);
    wal.sync();
    if (disk_.fake()) {
      EXPECT_EQ(disk_.fake()->file_syncs() - syncs_before, 1u);
    }
  }
  disk_.crash();
  auto wal = open();
  EXPECT_EQ(wal.last_seq(), 1000u);
  EXPECT_EQ(wal.read_from(1), records(1, 1000));
}

TEST_P(WalTest, AppendsWithoutSyncAreExactlyWhatACrashLoses) {
  {
    auto wal = open();
    append_through(wal, 5);
    wal.sync();
    append_through(wal, 8);
  }
  disk_.crash();
  auto wal = open();
  EXPECT_EQ(wal.last_seq(), 5u);
  EXPECT_EQ(wal.read_from(1), records(1, 5));
  EXPECT_EQ(wal.append(1, "next"), 6u);
}

TEST_P(WalTest, TornLastWriteIsTruncatedAndReported) {
  write_three_records();
  const std::uint64_t good_size = disk_.fs().read_file(segment(1)).size();
  const std::string torn = encoded(1, "a record the crash interrupted").substr(0, 15);
  disk_.append_raw(segment(1), torn);

  auto wal = open();
  EXPECT_EQ(wal.recovery().last_seq, 3u);
  EXPECT_EQ(wal.recovery().truncated_bytes, torn.size());
  EXPECT_EQ(wal.recovery().reason, "short payload");
  EXPECT_EQ(disk_.fs().read_file(segment(1)).size(), good_size);
  EXPECT_EQ(wal.append(type_of(4), payload(4)), 4u);
  wal.sync();

  auto reopened = open();
  EXPECT_EQ(reopened.recovery().truncated_bytes, 0u);
  EXPECT_EQ(reopened.read_from(1), records(1, 4));
}

TEST_P(WalTest, ShortHeaderAndZeroFilledTailsAreTruncatedToo) {
  const std::pair<std::string, std::string> tails[] = {
      {encoded(1, "x").substr(0, 5), "short header"},
      {std::string(64, '\0'), "zero-filled tail"},
  };
  for (const auto& [tail, reason] : tails) {
    SCOPED_TRACE(reason);
    disk_.fs().create_directories(dir_);
    for (const auto& name : disk_.fs().list_directory(dir_)) disk_.fs().remove(dir_ / name);
    write_three_records();
    disk_.append_raw(segment(1), tail);
    auto wal = open();
    EXPECT_EQ(wal.recovery().last_seq, 3u);
    EXPECT_EQ(wal.recovery().truncated_bytes, tail.size());
    EXPECT_EQ(wal.recovery().reason, reason);
    EXPECT_EQ(wal.read_from(1), records(1, 3));
  }
}

TEST_P(WalTest, FlippedByteInTheLastRecordIsTruncated) {
  write_three_records();
  const std::uint64_t size = disk_.fs().read_file(segment(1)).size();
  disk_.flip_byte(segment(1), size - 1);

  auto wal = open();
  EXPECT_EQ(wal.recovery().last_seq, 2u);
  EXPECT_EQ(wal.recovery().truncated_bytes, kRecordHeaderBytes + 40);
  EXPECT_EQ(wal.recovery().reason, "crc mismatch");
  EXPECT_EQ(wal.read_from(1), records(1, 2));
  EXPECT_EQ(wal.append(0, "replacement"), 3u);
}

TEST_P(WalTest, FlippedByteFollowedByGoodRecordsIsAnError) {
  write_three_records();
  disk_.flip_byte(segment(1), kRecordHeaderBytes + 1);  // inside record 1's payload
  try {
    open();
    FAIL() << "opened a log that lost a record in the middle";
  } catch (const CorruptionError& error) {
    EXPECT_EQ(error.file(), segment(1));
    EXPECT_EQ(error.offset(), 0u);
  }
}

TEST_P(WalTest, FlippedByteInAnEarlierSegmentIsAnErrorNamingTheFile) {
  {
    auto wal = open(kSmallSegments);
    append_through(wal, 10);
    wal.sync();
  }
  ASSERT_EQ(segment_first_seqs(), (std::vector<std::uint64_t>{1, 4, 7, 10}));
  // The very last byte of the segment: damage a crash could explain, were it the last one.
  disk_.flip_byte(segment(4), disk_.fs().read_file(segment(4)).size() - 1);
  try {
    open(kSmallSegments);
    FAIL() << "opened a log whose synced segment is damaged";
  } catch (const CorruptionError& error) {
    EXPECT_EQ(error.file(), segment(4));
    EXPECT_EQ(error.offset(), 2 * (kRecordHeaderBytes + 40));
    EXPECT_NE(std::string(error.what()).find("wal-0000000000000004.log"), std::string::npos)
        << error.what();
  }
}

TEST_P(WalTest, SegmentsRollOverAndReadsSpanThem) {
  {
    auto wal = open(kSmallSegments);
    append_through(wal, 5);
    wal.sync();
    for (std::uint64_t seq = 6; seq <= 11; ++seq) {  // and one sync per record
      append_through(wal, seq);
      wal.sync();
    }
    EXPECT_EQ(wal.segment_count(), 4u);
    EXPECT_EQ(wal.read_from(5), records(5, 11));
  }
  EXPECT_EQ(segment_first_seqs(), (std::vector<std::uint64_t>{1, 4, 7, 10}));
  for (std::uint64_t first : {1, 4, 7}) {
    EXPECT_GE(disk_.fs().read_file(segment(first)).size(), kSmallSegments.segment_bytes);
  }
  disk_.crash();
  auto wal = open(kSmallSegments);
  EXPECT_EQ(wal.read_from(1), records(1, 11));
  EXPECT_EQ(wal.read_from(8), records(8, 11));
}

TEST_P(WalTest, TruncateSuffixThenAppendContinuesTheSequence) {
  {
    auto wal = open(kSmallSegments);
    append_through(wal, 20);
    wal.sync();
    wal.truncate_suffix(8);
    EXPECT_EQ(wal.last_seq(), 8u);
    EXPECT_EQ(segment_first_seqs(), (std::vector<std::uint64_t>{1, 4, 7}));
    EXPECT_EQ(wal.append(type_of(9), payload(9, "new")), 9u);
    wal.sync();
  }
  disk_.crash();
  auto wal = open(kSmallSegments);
  auto expected = records(1, 8);
  expected.push_back(record(9, "new"));
  EXPECT_EQ(wal.read_from(1), expected);
}

TEST_P(WalTest, TruncateSuffixAtASegmentBoundaryStartsTheNextSegmentAgain) {
  {
    auto wal = open(kSmallSegments);
    append_through(wal, 12);
    wal.sync();
    wal.truncate_suffix(6);
    append_through(wal, 8, "new");
    wal.sync();
  }
  EXPECT_EQ(segment_first_seqs(), (std::vector<std::uint64_t>{1, 4, 7}));
  auto wal = open(kSmallSegments);
  auto expected = records(1, 6);
  for (const auto& later : records(7, 8, "new")) expected.push_back(later);
  EXPECT_EQ(wal.read_from(1), expected);
}

TEST_P(WalTest, TruncateSuffixCanDropEverythingOrOnlyUnsyncedRecords) {
  auto wal = open(kSmallSegments);
  append_through(wal, 5);
  wal.sync();
  append_through(wal, 7);
  wal.truncate_suffix(6);  // only in memory
  EXPECT_EQ(wal.read_from(1), records(1, 6));
  wal.truncate_suffix(0);
  EXPECT_EQ(wal.last_seq(), 0u);
  EXPECT_EQ(segment_first_seqs(), std::vector<std::uint64_t>{1});
  EXPECT_EQ(wal.append(0, "first again"), 1u);
  wal.sync();
  EXPECT_EQ(open(kSmallSegments).read_from(1), (std::vector<WalRecord>{{1, 0, "first again"}}));
}

TEST_P(WalTest, ReleasePrefixDeletesOnlyWholeSegmentsBelowTheSequence) {
  auto wal = open(kSmallSegments);
  append_through(wal, 10);
  wal.sync();
  wal.release_prefix(8);  // 1-3 and 4-6 are wholly below 8; 7-9 is not
  EXPECT_EQ(segment_first_seqs(), (std::vector<std::uint64_t>{7, 10}));
  EXPECT_EQ(wal.first_seq(), 7u);
  EXPECT_EQ(wal.read_from(7), records(7, 10));
  EXPECT_THROW(wal.read_from(6), std::out_of_range);

  wal.release_prefix(1000);  // the segment being written stays
  EXPECT_EQ(segment_first_seqs(), std::vector<std::uint64_t>{10});
  EXPECT_THROW(wal.truncate_suffix(8), std::invalid_argument);

  auto reopened = open(kSmallSegments);
  EXPECT_EQ(reopened.first_seq(), 10u);
  EXPECT_EQ(reopened.read_from(10), records(10, 10));
  reopened.truncate_suffix(9);  // empties the only segment, whose name still says 10
  EXPECT_EQ(reopened.first_seq(), 10u);
  EXPECT_EQ(reopened.append(0, "ten"), 10u);
  reopened.sync();
  EXPECT_EQ(open(kSmallSegments).read_from(10), (std::vector<WalRecord>{{10, 0, "ten"}}));
}

TEST_P(WalTest, IgnoresFilesThatAreNotSegments) {
  write_three_records();
  disk_.overwrite(dir_ / "hard_state", "not a segment");
  EXPECT_EQ(open().read_from(1), records(1, 3));
}

TEST_P(WalTest, AGapBetweenSegmentsIsAnError) {
  {
    auto wal = open(kSmallSegments);
    append_through(wal, 10);
    wal.sync();
  }
  disk_.fs().remove(segment(4));
  EXPECT_THROW(open(kSmallSegments), CorruptionError);
}

INSTANTIATE_TEST_SUITE_P(Backends, WalTest,
                         ::testing::Values(Backend::kFaultInjecting, Backend::kPosix),
                         testing::backend_name);

TEST(WalFaults, AFailedSyncMakesTheWalUnusableUntilReopened) {
  FaultInjectingFileSystem fs;
  auto wal = Wal::open(fs, "/wal");
  wal.append(1, "kept");
  wal.sync();
  wal.append(1, "lost");
  fs.fail_next_sync();
  EXPECT_THROW(wal.sync(), std::system_error);
  // Retrying could report success over pages the kernel already dropped.
  EXPECT_THROW(wal.sync(), DurabilityError);
  EXPECT_THROW(wal.append(1, "more"), DurabilityError);
  fs.crash();
  auto reopened = Wal::open(fs, "/wal");
  EXPECT_EQ(reopened.read_from(1), (std::vector<WalRecord>{{1, 1, "kept"}}));
}

TEST(WalFaults, ACrashMidWriteTearsTheTailAndRecoveryReportsIt) {
  std::set<std::string> reasons;
  for (CrashMode mode : {CrashMode::kTearUnsynced, CrashMode::kTearUnsyncedAsZeros}) {
    for (std::uint64_t seed = 1; seed <= 20; ++seed) {
      FaultInjectingFileSystem fs(seed);
      auto wal = Wal::open(fs, "/wal");
      append_through(wal, 3);
      wal.sync();
      append_through(wal, 8);
      fs.crash_after_operations(1);  // the batch is written, its fsync never happens
      EXPECT_THROW(wal.sync(), SimulatedCrash);
      fs.crash(mode);

      auto recovered = Wal::open(fs, "/wal");
      const RecoveryReport& report = recovered.recovery();
      EXPECT_GE(report.last_seq, 3u);
      EXPECT_LE(report.last_seq, 8u);
      EXPECT_EQ(recovered.read_from(1), records(1, report.last_seq));
      if (report.truncated_bytes > 0) reasons.insert(report.reason);
    }
  }
  EXPECT_TRUE(reasons.contains("zero-filled tail"));
  EXPECT_TRUE(reasons.contains("short payload") || reasons.contains("short header"));
}

// What the disk may show after a crash: the records of `allowed`, up to at least
// `min_last_seq` of them.
struct Expectation {
  std::vector<std::string> allowed;
  std::uint64_t min_last_seq = 0;
};

// Appends, syncs, rolls segments, truncates and releases, keeping `expect` true of the disk
// at every instant, so that whenever the crash strikes the test knows what must survive.
void run_script(FileSystem& fs, Expectation& expect) {
  std::vector<std::string> log;  // every record appended and not truncated away
  std::uint64_t durable = 0;
  expect = {log, durable};
  auto wal = Wal::open(fs, "/wal", kSmallSegments);
  const auto append = [&](int count, std::string_view generation) {
    for (int i = 0; i < count; ++i) {
      log.push_back(payload(log.size() + 1, generation));
      wal.append(0, log.back());
    }
  };
  const auto sync = [&] {
    expect = {log, durable};
    wal.sync();
    durable = log.size();
    expect = {log, durable};
  };
  const auto truncate_suffix = [&](std::uint64_t after_seq) {
    expect = {log, after_seq};  // part-way, some of the dropped records may remain
    wal.truncate_suffix(after_seq);
    log.resize(after_seq);
    durable = after_seq;
    expect = {log, durable};
  };
  append(2, "a");
  sync();
  append(5, "a");
  sync();
  append(1, "a");
  sync();
  truncate_suffix(4);
  append(4, "b");
  sync();
  wal.release_prefix(6);
  append(3, "c");
  sync();
}

void check_recovery(FileSystem& fs, const Expectation& expect) {
  auto wal = Wal::open(fs, "/wal", kSmallSegments);
  EXPECT_GE(wal.last_seq(), expect.min_last_seq);
  ASSERT_LE(wal.last_seq(), expect.allowed.size());
  for (const auto& recovered : wal.read_from(wal.first_seq())) {
    EXPECT_EQ(recovered.payload, expect.allowed[recovered.seq - 1]) << "seq " << recovered.seq;
  }
  // And the log carries on from there.
  const std::uint64_t next = wal.append(0, "after the crash");
  wal.sync();
  EXPECT_EQ(Wal::open(fs, "/wal", kSmallSegments).last_seq(), next);
}

TEST(WalFaults, EverySyncedRecordSurvivesACrashAtAnyPoint) {
  int crash_points = 0;
  for (CrashMode mode :
       {CrashMode::kDropUnsynced, CrashMode::kTearUnsynced, CrashMode::kTearUnsyncedAsZeros}) {
    for (std::uint64_t seed = 1; seed <= 3; ++seed) {
      for (std::size_t operations = 0;; ++operations) {
        FaultInjectingFileSystem fs(seed);
        fs.crash_after_operations(operations);
        Expectation expect;
        try {
          run_script(fs, expect);
        } catch (const SimulatedCrash&) {
          SCOPED_TRACE("crash after " + std::to_string(operations) + " operations, seed " +
                       std::to_string(seed));
          fs.crash(mode);
          check_recovery(fs, expect);
          ++crash_points;
          continue;
        }
        break;
      }
    }
  }
  EXPECT_GT(crash_points, 9 * 30);
}

}  // namespace
}  // namespace isla::durability
