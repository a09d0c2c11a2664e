#pragma once
// A segmented write-ahead log of opaque records (after etcd's wal package): what a Raft node
// appends before it answers, and replays when it starts.
//
// Records are numbered 1, 2, 3, ... across segments. append() only buffers; sync() writes
// the buffer and fsyncs once, so a caller that appends many records and then syncs pays for
// one fsync (group commit). Not thread-safe: one owner, typically the Raft loop.
//
// After any failed write or sync the Wal refuses further use (a failed fsync leaves the disk
// in an unknown state, and retrying can report success over lost data); open it again to
// recover from what the disk actually holds.
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "durability/file_system.hpp"

namespace isla::durability {

struct WalOptions {
  // A segment is closed and a new one started once it holds at least this many bytes.
  std::uint64_t segment_bytes = 64 * 1024 * 1024;
  // Told how long each sync() that made records durable took, writes and fsyncs together
  // (for a latency histogram: a slow disk shows here first). It runs on the owner's thread,
  // inside the commit path, so it must be quick.
  std::function<void(double seconds)> on_sync;
};

struct RecoveryReport {
  std::uint64_t last_seq = 0;       // the last record that survived
  std::size_t truncated_bytes = 0;  // torn tail dropped from the last segment
  std::string reason;               // why it was dropped; empty if nothing was
};

struct WalRecord {
  std::uint64_t seq = 0;
  std::uint8_t type = 0;
  std::string payload;

  friend bool operator==(const WalRecord&, const WalRecord&) = default;
};

class Wal {
 public:
  // Opens the log in `dir`, creating both if needed. Every record is verified; a torn or
  // corrupt tail of the last segment (the write a crash interrupted) is cut off, logged and
  // described in recovery(). Damage anywhere else means synced data was lost and throws
  // CorruptionError naming the file and offset.
  static Wal open(FileSystem& fs, std::filesystem::path dir, WalOptions options = {});

  Wal(Wal&&) noexcept;
  Wal& operator=(Wal&&) noexcept;
  // Does not write: records appended since the last sync() are lost, as in a crash.
  ~Wal();

  const RecoveryReport& recovery() const { return recovery_; }

  // Buffers a record and returns its sequence number; durable only after sync().
  std::uint64_t append(std::uint8_t type, std::string_view payload);
  // Makes every appended record durable.
  void sync();

  // Records with seq >= from, durable or only appended; for replay at start-up. Throws
  // std::out_of_range if from < first_seq() (those were released, or from is 0).
  std::vector<WalRecord> read_from(std::uint64_t from) const;

  // Drops every record after `after_seq`, durably; the next append gets after_seq + 1. For a
  // Raft log whose tail conflicts with the leader's. Throws std::invalid_argument if
  // after_seq + 1 < first_seq(): released records cannot be rewritten.
  void truncate_suffix(std::uint64_t after_seq);
  // Deletes the segments whose records are all below `before_seq` (covered by a snapshot).
  // The segment being written is never deleted, so records below before_seq may remain.
  void release_prefix(std::uint64_t before_seq);

  // The oldest record still held; last_seq() + 1 when none is.
  std::uint64_t first_seq() const;
  std::uint64_t last_seq() const { return synced_seq_ + pending_ends_.size(); }
  std::uint64_t synced_seq() const { return synced_seq_; }
  std::size_t segment_count() const { return segments_.size(); }

 private:
  struct Segment {
    std::uint64_t first_seq = 0;
    std::filesystem::path path;
  };

  Wal(FileSystem& fs, std::filesystem::path dir, WalOptions options);
  void recover();
  void start_first_segment();
  void roll_over(std::uint64_t first_seq);
  void require_usable() const;
  // Runs a mutation; if it throws, the Wal is marked unusable before the error propagates.
  template <typename Mutation>
  void mutate(Mutation&& mutation);

  FileSystem* fs_;
  std::filesystem::path dir_;
  WalOptions options_;
  RecoveryReport recovery_;
  std::vector<Segment> segments_;  // oldest first; back() is being written
  std::unique_ptr<WritableFile> active_;
  std::uint64_t synced_seq_ = 0;           // every record up to here is written and synced
  std::string pending_;                    // encoded records appended since the last sync
  std::vector<std::size_t> pending_ends_;  // where each pending record ends in pending_
  bool failed_ = false;
};

}  // namespace isla::durability
