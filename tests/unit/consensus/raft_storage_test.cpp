#include "consensus/raft_storage.hpp"

#include <gtest/gtest.h>

#include "consensus/codec.hpp"
#include "consensus/raft.hpp"
#include "durability/fault_injecting_file_system.hpp"

namespace isla::consensus {
namespace {

using durability::FaultInjectingFileSystem;

std::vector<Entry> entries(Index first, Index last, Term term) {
  std::vector<Entry> out;
  for (Index i = first; i <= last; ++i) {
    out.push_back(Entry{term, i, EntryType::normal, "v" + std::to_string(i)});
  }
  return out;
}

Ready ready_with(std::vector<Entry> list, std::optional<HardState> hard) {
  Ready ready;
  ready.entries = std::move(list);
  ready.hard_state = hard;
  return ready;
}

TEST(RaftCodec, RoundTripsAndRejectsTruncation) {
  const Entry entry{7, 42, EntryType::conf_change, "v:3"};
  EXPECT_EQ(decode_entry(encode_entry(entry)), entry);
  const HardState hard{5, 2, 40};
  EXPECT_EQ(decode_hard_state(encode_hard_state(hard)), hard);
  const Snapshot snapshot{40, 5, ConfState{{1, 2, 3}, {4}}, std::string("state\0x", 7)};
  EXPECT_EQ(decode_snapshot(encode_snapshot(snapshot)), snapshot);
  const auto bytes = encode_snapshot(snapshot);
  for (std::size_t cut = 0; cut < bytes.size(); ++cut) {
    EXPECT_FALSE(decode_snapshot(bytes.substr(0, cut))) << cut;
  }
  EXPECT_FALSE(decode_entry(encode_entry(entry) + "x"));
}

TEST(RaftStorage, ReloadsWhatWasSaved) {
  FaultInjectingFileSystem fs;
  {
    RaftStorage storage(fs, "/node");
    storage.save(ready_with(entries(1, 5, 1), HardState{1, 1, 3}));
  }
  fs.crash();
  RaftStorage reopened(fs, "/node");
  const auto state = reopened.load();
  EXPECT_EQ(state.entries, entries(1, 5, 1));
  EXPECT_EQ(state.hard_state, (HardState{1, 1, 3}));
}

TEST(RaftStorage, AnOverwrittenTailReplacesTheOldOne) {
  FaultInjectingFileSystem fs;
  RaftStorage storage(fs, "/node");
  storage.save(ready_with(entries(1, 5, 1), HardState{1, 0, 2}));
  storage.save(ready_with(entries(4, 4, 2), HardState{2, 0, 2}));
  auto expected = entries(1, 3, 1);
  expected.push_back(entries(4, 4, 2)[0]);
  EXPECT_EQ(storage.load().entries, expected);
}

TEST(RaftStorage, ACommitIndexAloneIsNotSynced) {
  FaultInjectingFileSystem fs;
  RaftStorage storage(fs, "/node");
  storage.save(ready_with(entries(1, 3, 1), HardState{1, 1, 1}));
  const auto syncs = fs.file_syncs();
  storage.save(ready_with({}, HardState{1, 1, 3}));
  EXPECT_EQ(fs.file_syncs(), syncs);
  storage.save(ready_with({}, HardState{2, 0, 3}));  // a new term is a promise
  EXPECT_EQ(fs.file_syncs(), syncs + 1);
}

TEST(RaftStorage, OneReadyCostsOneFsyncWhateverItsSize) {
  FaultInjectingFileSystem fs;
  RaftStorage storage(fs, "/node");
  const auto before = fs.file_syncs();
  storage.save(ready_with(entries(1, 500, 1), HardState{1, 1, 0}));
  EXPECT_EQ(fs.file_syncs() - before, 1u);
}

// A crash at any point of a save leaves the old state or the new one, never a mixture
// that loses what the old one had.
TEST(RaftStorage, CrashDuringSaveKeepsThePreviousStateOrTheNewOne) {
  for (std::size_t crash_at = 0; crash_at < 12; ++crash_at) {
    FaultInjectingFileSystem fs(crash_at + 1);
    {
      RaftStorage storage(fs, "/node");
      storage.save(ready_with(entries(1, 3, 1), HardState{1, 1, 2}));
      fs.crash_after_operations(crash_at);
      try {
        storage.save(ready_with(entries(4, 8, 2), HardState{2, 1, 6}));
      } catch (const durability::DurabilityError&) {
      } catch (const std::system_error&) {
      }
    }
    fs.crash(durability::CrashMode::kTearUnsynced);
    RaftStorage reopened(fs, "/node");
    const auto state = reopened.load();
    ASSERT_GE(state.entries.size(), 3u) << "crash point " << crash_at;
    EXPECT_EQ(std::vector<Entry>(state.entries.begin(), state.entries.begin() + 3),
              entries(1, 3, 1));
    const bool old_state = state.hard_state == HardState{1, 1, 2};
    const bool new_state = state.hard_state == HardState{2, 1, 6} && state.entries.size() == 8;
    EXPECT_TRUE(old_state || new_state)
        << "crash point " << crash_at << ": term " << state.hard_state.term << ", "
        << state.entries.size() << " entries";
  }
}

TEST(RaftStorage, SnapshotReleasesTheLogItCovers) {
  FaultInjectingFileSystem fs;
  durability::WalOptions small;
  small.segment_bytes = 512;
  RaftStorage storage(fs, "/node", small);
  for (Index i = 1; i <= 200; i += 10) {
    storage.save(ready_with(entries(i, i + 9, 1), HardState{1, 1, i + 9}));
  }
  const auto segments_before = storage.wal_segments();
  storage.save_snapshot(Snapshot{180, 1, ConfState{{1}, {}}, "kv"});
  EXPECT_LT(storage.wal_segments(), segments_before);
  fs.crash();
  RaftStorage reopened(fs, "/node", small);
  const auto state = reopened.load();
  ASSERT_TRUE(state.snapshot);
  EXPECT_EQ(state.snapshot->data, "kv");
  EXPECT_EQ(state.entries, entries(181, 200, 1));
  EXPECT_EQ(state.hard_state, (HardState{1, 1, 200}));
}

// A snapshot from the leader replaces the whole log: after a restart the old tail must not
// reappear behind it, or the node's last term would go backwards and it could vote for a
// candidate that misses committed entries.
TEST(RaftStorage, AnInstalledSnapshotReplacesTheOldTail) {
  FaultInjectingFileSystem fs;
  {
    RaftStorage storage(fs, "/node");
    storage.save(ready_with(entries(1, 5, 1), HardState{1, 0, 1}));
    Ready install = ready_with({}, HardState{2, 0, 3});
    install.snapshot = Snapshot{3, 2, ConfState{{1, 2, 3}, {}}, "kv"};
    storage.save(install);
    storage.save(ready_with(entries(4, 4, 2), HardState{2, 0, 3}));
  }
  fs.crash();
  RaftStorage reopened(fs, "/node");
  const auto state = reopened.load();
  ASSERT_TRUE(state.snapshot);
  EXPECT_EQ(state.snapshot->index, 3u);
  EXPECT_EQ(state.entries, entries(4, 4, 2));
  EXPECT_EQ(state.hard_state, (HardState{2, 0, 3}));
  Raft raft(RaftOptions{}, ConfState{}, state);
  EXPECT_EQ(raft.log().last_term(), 2u);
}

// A crash after the installed snapshot's file is durable but before its mark is: the old
// tail does not continue the new snapshot, so it is not attached to it.
TEST(RaftStorage, ACrashBeforeTheInstallIsMarkedDoesNotAttachTheOldTail) {
  FaultInjectingFileSystem fs;
  {
    RaftStorage storage(fs, "/node");
    storage.save(ready_with(entries(1, 5, 1), HardState{1, 0, 1}));
    storage.write_snapshot_file(Snapshot{3, 2, ConfState{{1, 2, 3}, {}}, "kv"});
  }
  fs.crash();
  RaftStorage reopened(fs, "/node");
  const auto state = reopened.load();
  ASSERT_TRUE(state.snapshot);
  EXPECT_TRUE(state.entries.empty());
  EXPECT_EQ(state.hard_state.commit, 3u);
}

// After such a crash, what the node appends onto the snapshot is its log: a second restart
// must not take it for the old history's tail (the simulation found acknowledged entries
// lost this way).
TEST(RaftStorage, EntriesAppendedAfterAnUnmarkedInstallSurviveTheNextRestart) {
  FaultInjectingFileSystem fs;
  {
    RaftStorage storage(fs, "/node");
    storage.save(ready_with(entries(1, 5, 1), HardState{1, 0, 1}));
    storage.write_snapshot_file(Snapshot{3, 2, ConfState{{1, 2, 3}, {}}, "kv"});
  }
  fs.crash();
  {
    RaftStorage storage(fs, "/node");
    ASSERT_TRUE(storage.load().entries.empty());
    storage.save(ready_with(entries(4, 6, 2), HardState{2, 0, 5}));
  }
  fs.crash();
  RaftStorage reopened(fs, "/node");
  EXPECT_EQ(reopened.load().entries, entries(4, 6, 2));
}

// The tail of a compaction snapshot's own log does continue it, mark or no mark.
TEST(RaftStorage, ACompactionSnapshotKeepsTheEntriesAfterIt) {
  FaultInjectingFileSystem fs;
  {
    RaftStorage storage(fs, "/node");
    storage.save(ready_with(entries(1, 5, 1), HardState{1, 0, 5}));
    storage.write_snapshot_file(Snapshot{3, 1, ConfState{{1}, {}}, "kv"});
  }
  fs.crash();
  RaftStorage reopened(fs, "/node");
  EXPECT_EQ(reopened.load().entries, entries(4, 5, 1));
}

// Runs every Ready of `raft` through `storage` (when given), returning the applied commands.
std::vector<std::string> drain(Raft& raft, RaftStorage* storage) {
  std::vector<std::string> applied;
  while (raft.has_ready()) {
    auto ready = raft.ready();
    if (storage != nullptr) storage->save(ready);
    for (const auto& entry : ready.committed) {
      if (entry.type == EntryType::normal && !entry.data.empty()) applied.push_back(entry.data);
    }
    raft.advance(ready);
  }
  return applied;
}

TEST(RaftStorage, ARestartedNodeRecoversItsCommittedLog) {
  FaultInjectingFileSystem fs;
  RaftOptions options;
  options.id = 1;
  std::vector<std::string> applied_before;
  {
    RaftStorage storage(fs, "/node");
    Raft raft(options, ConfState{{1}, {}}, storage.load());
    raft.campaign();
    for (int i = 0; i < 3; ++i) {
      auto applied = drain(raft, &storage);
      applied_before.insert(applied_before.end(), applied.begin(), applied.end());
      raft.propose("cmd" + std::to_string(i));
    }
    auto applied = drain(raft, &storage);
    applied_before.insert(applied_before.end(), applied.begin(), applied.end());
  }
  fs.crash();
  RaftStorage storage(fs, "/node");
  Raft raft(options, ConfState{{1}, {}}, storage.load());
  // The last commit index may not have been synced (only entries, terms and votes are
  // promises); every entry is there, and the next leadership commits them again.
  auto applied_after = drain(raft, nullptr);
  EXPECT_GE(applied_after.size(), 2u);
  raft.campaign();
  const auto recommitted = drain(raft, nullptr);
  applied_after.insert(applied_after.end(), recommitted.begin(), recommitted.end());
  EXPECT_EQ(applied_before, (std::vector<std::string>{"cmd0", "cmd1", "cmd2"}));
  EXPECT_EQ(applied_after, applied_before);
  EXPECT_GE(raft.term(), 2u);
}

}  // namespace
}  // namespace isla::consensus
