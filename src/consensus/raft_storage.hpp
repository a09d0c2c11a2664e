#pragma once
// The durable side of a Raft node: what each Ready must persist goes to a write-ahead log
// (entries and hard state, one fsync per Ready however many entries it holds: group
// commit), snapshots go to a file written atomically, and load() rebuilds the
// PersistentState a restarted node hands to Raft.
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>

#include "consensus/types.hpp"
#include "durability/file_system.hpp"
#include "durability/wal.hpp"

namespace isla::consensus {

struct ReplayedLog;  // the WAL replayed (raft_storage.cpp)

class RaftStorage {
 public:
  // Opens (or creates) the storage in `dir`; the WAL's own recovery truncates a torn tail.
  RaftStorage(durability::FileSystem& fs, std::filesystem::path dir,
              durability::WalOptions wal = {});

  // What the node had made durable before it stopped or crashed.
  PersistentState load() const;
  // Persists the Ready's snapshot, entries and hard state; returns once its snapshot,
  // entries, term and vote are durable (a new commit index alone is not synced).
  void save(const Ready& ready);
  // Keeps a snapshot the application took, and drops the log it covers.
  void save_snapshot(const Snapshot& snapshot);
  // The two halves of save_snapshot, for a driver that writes snapshots on another thread:
  // the file (thread-safe; an older snapshot never replaces a newer one), then, on the
  // thread that owns the WAL, the release of the log the written snapshot covers.
  void write_snapshot_file(const Snapshot& snapshot);
  void release_covered(const Snapshot& snapshot);

  const durability::RecoveryReport& recovery() const { return wal_.recovery(); }
  std::size_t wal_segments() const { return wal_.segment_count(); }

 private:
  void append_entries(const std::vector<Entry>& entries);
  // What load() returns; `unmarked` says the snapshot file is newer than anything the WAL
  // continues (an install whose mark a crash lost).
  PersistentState read_state(ReplayedLog log, bool& unmarked) const;
  // A snapshot from the leader replaces the whole log, not only the part it covers.
  void install_snapshot(const Snapshot& snapshot);
  // Throws if the loaded log is not one history: indexes contiguous after the snapshot and
  // terms never going backwards.
  void check_continuity(const PersistentState& state) const;

  durability::FileSystem& fs_;
  std::filesystem::path dir_;
  durability::Wal wal_;
  HardState hard_state_;
  std::map<Index, std::uint64_t> entry_seq_;  // WAL sequence of each live entry's last write
  std::mutex snapshot_mutex_;
  Index written_snapshot_ = 0;
  std::uint64_t installed_mark_ = 0;  // WAL sequence of a mark not yet synced, or 0
};

}  // namespace isla::consensus
