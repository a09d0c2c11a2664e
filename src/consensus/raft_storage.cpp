#include "consensus/raft_storage.hpp"

#include <stdexcept>

#include "consensus/codec.hpp"
#include "durability/atomic_file.hpp"

namespace isla::consensus {

namespace {

enum RecordType : std::uint8_t { kEntry = 1, kHardState = 2 };

std::filesystem::path snapshot_file(const std::filesystem::path& dir) {
  return dir / "snapshot";
}

}  // namespace

RaftStorage::RaftStorage(durability::FileSystem& fs, std::filesystem::path dir,
                         durability::WalOptions wal)
    : fs_(fs), dir_(std::move(dir)), wal_(durability::Wal::open(fs, dir_ / "wal", wal)) {
  // Learn which WAL record holds each live entry, so that a snapshot can release them.
  for (const auto& record : wal_.read_from(wal_.first_seq())) {
    if (record.type == kHardState) {
      if (auto hard = decode_hard_state(record.payload)) hard_state_ = *hard;
      continue;
    }
    if (auto entry = decode_entry(record.payload)) {
      entry_seq_.erase(entry_seq_.lower_bound(entry->index), entry_seq_.end());
      entry_seq_[entry->index] = record.seq;
    }
  }
}

PersistentState RaftStorage::load() const {
  PersistentState state;
  if (auto bytes = durability::read_if_exists(fs_, snapshot_file(dir_))) {
    state.snapshot = decode_snapshot(*bytes);
    if (!state.snapshot) {
      throw std::runtime_error("raft storage: " + snapshot_file(dir_).string() +
                               " is not a snapshot (it was written atomically: the disk "
                               "or another program changed it)");
    }
  }
  const Index covered = state.snapshot ? state.snapshot->index : 0;
  for (const auto& record : wal_.read_from(wal_.first_seq())) {
    if (record.type == kHardState) {
      if (auto hard = decode_hard_state(record.payload)) state.hard_state = *hard;
      continue;
    }
    auto entry = decode_entry(record.payload);
    if (!entry) {
      throw std::runtime_error("raft storage: WAL record " + std::to_string(record.seq) +
                               " is not an entry");
    }
    // A later write of an index replaces it and everything after it (a conflicting tail
    // the leader overwrote), as etcd's WAL replay does.
    while (!state.entries.empty() && state.entries.back().index >= entry->index) {
      state.entries.pop_back();
    }
    if (entry->index > covered) state.entries.push_back(std::move(*entry));
  }
  if (state.snapshot) state.hard_state.commit = std::max(state.hard_state.commit, covered);
  return state;
}

void RaftStorage::append_entries(const std::vector<Entry>& entries) {
  for (const auto& entry : entries) {
    entry_seq_.erase(entry_seq_.lower_bound(entry.index), entry_seq_.end());
    entry_seq_[entry.index] = wal_.append(kEntry, encode_entry(entry));
  }
}

void RaftStorage::save(const Ready& ready) {
  if (ready.snapshot) save_snapshot(*ready.snapshot);
  append_entries(ready.entries);
  if (ready.hard_state) {
    hard_state_ = *ready.hard_state;
    wal_.append(kHardState, encode_hard_state(hard_state_));
  }
  if (!ready.entries.empty() || ready.hard_state) wal_.sync();
}

void RaftStorage::save_snapshot(const Snapshot& snapshot) {
  write_snapshot_file(snapshot);
  release_covered(snapshot.index);
}

void RaftStorage::write_snapshot_file(const Snapshot& snapshot) {
  std::lock_guard lock(snapshot_mutex_);
  if (snapshot.index <= written_snapshot_) return;
  durability::write_atomically(fs_, snapshot_file(dir_), encode_snapshot(snapshot));
  written_snapshot_ = snapshot.index;
}

void RaftStorage::release_covered(Index snapshot_index) {
  entry_seq_.erase(entry_seq_.begin(), entry_seq_.upper_bound(snapshot_index));
  // Segments before the oldest live entry hold only covered entries and old hard states;
  // write the current hard state again first so that releasing them loses nothing.
  wal_.append(kHardState, encode_hard_state(hard_state_));
  wal_.sync();
  const std::uint64_t keep_from = entry_seq_.empty() ? wal_.last_seq() : entry_seq_.begin()->second;
  wal_.release_prefix(keep_from);
}

}  // namespace isla::consensus
