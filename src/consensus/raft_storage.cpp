#include "consensus/raft_storage.hpp"

#include <algorithm>
#include <stdexcept>
#include <utility>

#include "consensus/byte_io.hpp"
#include "consensus/codec.hpp"
#include "durability/atomic_file.hpp"

namespace isla::consensus {

namespace {

enum RecordType : std::uint8_t { kEntry = 1, kHardState = 2, kSnapshotMark = 3 };

std::filesystem::path snapshot_file(const std::filesystem::path& dir) {
  return dir / "snapshot";
}

// A mark records that the snapshot file at (index, term) is durable. `replaces_log` marks an
// installed snapshot: the log before it (even the entries after its index) belonged to
// another history and must not be replayed. A compaction mark only drops what it covers.
struct SnapshotMark {
  Index index = 0;
  Term term = 0;
  bool replaces_log = false;
};

std::string encode_mark(const SnapshotMark& mark) {
  return Writer().u64(mark.index).u64(mark.term).u8(mark.replaces_log ? 1 : 0).take();
}

std::optional<SnapshotMark> decode_mark(std::string_view bytes) {
  Reader in(bytes);
  SnapshotMark mark;
  std::uint8_t replaces = 0;
  if (!in.u64(mark.index) || !in.u64(mark.term) || !in.u8(replaces) || !in.done() || replaces > 1) {
    return std::nullopt;
  }
  mark.replaces_log = replaces == 1;
  return mark;
}

}  // namespace

// The WAL replayed: the log as the last marks and overwrites left it.
struct ReplayedLog {
  HardState hard_state;
  std::vector<Entry> entries;
  std::optional<SnapshotMark> base;          // the newest mark
  std::map<Index, std::uint64_t> entry_seq;  // the WAL record of each entry in `entries`
};

namespace {

ReplayedLog replay(const durability::Wal& wal) {
  ReplayedLog log;
  for (const auto& record : wal.read_from(wal.first_seq())) {
    if (record.type == kHardState) {
      if (auto hard = decode_hard_state(record.payload)) log.hard_state = *hard;
      continue;
    }
    if (record.type == kSnapshotMark) {
      auto mark = decode_mark(record.payload);
      if (!mark) {
        throw std::runtime_error("raft storage: WAL record " + std::to_string(record.seq) +
                                 " is not a snapshot mark");
      }
      if (mark->replaces_log) {
        log.entries.clear();
        log.entry_seq.clear();
      }
      if (mark->replaces_log || !log.base || mark->index > log.base->index) log.base = *mark;
      continue;
    }
    auto entry = decode_entry(record.payload);
    if (!entry) {
      throw std::runtime_error("raft storage: WAL record " + std::to_string(record.seq) +
                               " is not an entry");
    }
    // A later write of an index replaces it and everything after it (a conflicting tail
    // the leader overwrote), as etcd's WAL replay does.
    while (!log.entries.empty() && log.entries.back().index >= entry->index) {
      log.entries.pop_back();
    }
    log.entry_seq.erase(log.entry_seq.lower_bound(entry->index), log.entry_seq.end());
    log.entry_seq[entry->index] = record.seq;
    log.entries.push_back(std::move(*entry));
  }
  return log;
}

}  // namespace

RaftStorage::RaftStorage(durability::FileSystem& fs, std::filesystem::path dir,
                         durability::WalOptions wal)
    : fs_(fs), dir_(std::move(dir)), wal_(durability::Wal::open(fs, dir_ / "wal", wal)) {
  // One pass over the WAL: the state load() would return, and which record holds each live
  // entry, so that a snapshot can release them.
  auto log = replay(wal_);
  hard_state_ = log.hard_state;
  entry_seq_ = log.entry_seq;
  bool unmarked = false;
  const auto state = read_state(std::move(log), unmarked);
  if (unmarked) {
    // The node crashed after an installed snapshot's file was durable and before its mark
    // was. Mark it now: the entries appended from here on continue the snapshot and must be
    // read back as such, and the old tail never again.
    entry_seq_.clear();
    const auto mark = wal_.append(kSnapshotMark,
                                  encode_mark({state.snapshot->index, state.snapshot->term, true}));
    wal_.append(kHardState, encode_hard_state(hard_state_));
    wal_.sync();
    wal_.release_prefix(mark);
  }
}

PersistentState RaftStorage::load() const {
  bool unmarked = false;
  return read_state(replay(wal_), unmarked);
}

PersistentState RaftStorage::read_state(ReplayedLog log, bool& unmarked) const {
  PersistentState state;
  if (auto bytes = durability::read_if_exists(fs_, snapshot_file(dir_))) {
    state.snapshot = decode_snapshot(*bytes);
    if (!state.snapshot) {
      throw std::runtime_error("raft storage: " + snapshot_file(dir_).string() +
                               " is not a snapshot (it was written atomically: the disk "
                               "or another program changed it)");
    }
  }
  state.hard_state = log.hard_state;
  if (log.base && (!state.snapshot || state.snapshot->index < log.base->index)) {
    throw std::runtime_error("raft storage: the WAL names a snapshot at index " +
                             std::to_string(log.base->index) + " that " +
                             snapshot_file(dir_).string() + " does not hold");
  }
  if (!state.snapshot) {
    state.entries = std::move(log.entries);
  } else {
    const Snapshot& snapshot = *state.snapshot;
    // The entries after the snapshot are ours only if they continue it: the snapshot's mark
    // is their base, or the log still holds the snapshot's own entry. Otherwise the node
    // crashed between writing an installed snapshot and marking it, and the tail is the
    // old history's, which conflicts with the committed snapshot and was never
    // acknowledged as part of it.
    const bool continues =
        (log.base && log.base->index == snapshot.index && log.base->term == snapshot.term) ||
        std::any_of(log.entries.begin(), log.entries.end(), [&](const Entry& entry) {
          return entry.index == snapshot.index && entry.term == snapshot.term;
        });
    unmarked = !continues;
    if (continues) {
      for (auto& entry : log.entries) {
        if (entry.index > snapshot.index) state.entries.push_back(std::move(entry));
      }
    }
    state.hard_state.commit = std::max(state.hard_state.commit, snapshot.index);
  }
  check_continuity(state);
  return state;
}

void RaftStorage::check_continuity(const PersistentState& state) const {
  Index expected = state.snapshot ? state.snapshot->index + 1 : 1;
  Term floor = state.snapshot ? state.snapshot->term : 0;
  for (const auto& entry : state.entries) {
    if (entry.index != expected || entry.term < floor) {
      throw std::runtime_error("raft storage: the log in " + dir_.string() +
                               " is damaged at index " + std::to_string(entry.index) +
                               " (expected index " + std::to_string(expected) + ", term at least " +
                               std::to_string(floor) + ", found term " +
                               std::to_string(entry.term) + ")");
    }
    ++expected;
    floor = entry.term;
  }
}

void RaftStorage::append_entries(const std::vector<Entry>& entries) {
  for (const auto& entry : entries) {
    entry_seq_.erase(entry_seq_.lower_bound(entry.index), entry_seq_.end());
    entry_seq_[entry.index] = wal_.append(kEntry, encode_entry(entry));
  }
}

// A change of the commit index alone is written but not synced (etcd's MustSync): a commit
// index lost in a crash is learnt again from the leader, while a term, a vote or an entry
// is a promise to others. On an idle leader this halves the fsyncs of a write.
void RaftStorage::save(const Ready& ready) {
  const bool promises = !ready.entries.empty() || ready.snapshot ||
                        (ready.hard_state && (ready.hard_state->term != hard_state_.term ||
                                              ready.hard_state->vote != hard_state_.vote));
  if (ready.snapshot) install_snapshot(*ready.snapshot);
  append_entries(ready.entries);
  if (ready.hard_state) {
    hard_state_ = *ready.hard_state;
    wal_.append(kHardState, encode_hard_state(hard_state_));
  }
  if (promises) wal_.sync();
  if (installed_mark_ != 0) {
    // Everything before the mark belongs to the replaced history.
    wal_.release_prefix(std::exchange(installed_mark_, 0));
  }
}

// The file first, then the mark: a mark never names a snapshot the disk does not hold. The
// mark is synced with the rest of the Ready; until then a crash leaves the old log, which
// load() does not attach to the new file.
void RaftStorage::install_snapshot(const Snapshot& snapshot) {
  write_snapshot_file(snapshot);
  entry_seq_.clear();
  installed_mark_ = wal_.append(kSnapshotMark, encode_mark({snapshot.index, snapshot.term, true}));
  // Older records go once this is synced; the hard state must not go with them.
  wal_.append(kHardState, encode_hard_state(hard_state_));
}

void RaftStorage::save_snapshot(const Snapshot& snapshot) {
  write_snapshot_file(snapshot);
  release_covered(snapshot);
}

void RaftStorage::write_snapshot_file(const Snapshot& snapshot) {
  std::lock_guard lock(snapshot_mutex_);
  if (snapshot.index <= written_snapshot_) return;
  durability::write_atomically(fs_, snapshot_file(dir_), encode_snapshot(snapshot));
  written_snapshot_ = snapshot.index;
}

void RaftStorage::release_covered(const Snapshot& snapshot) {
  entry_seq_.erase(entry_seq_.begin(), entry_seq_.upper_bound(snapshot.index));
  // Segments before the oldest live entry hold only covered entries, old hard states and
  // older marks; write the mark and the current hard state again first so that releasing
  // them loses nothing.
  wal_.append(kSnapshotMark, encode_mark({snapshot.index, snapshot.term, false}));
  wal_.append(kHardState, encode_hard_state(hard_state_));
  wal_.sync();
  const std::uint64_t keep_from = entry_seq_.empty() ? wal_.last_seq() : entry_seq_.begin()->second;
  wal_.release_prefix(keep_from);
}

}  // namespace isla::consensus
