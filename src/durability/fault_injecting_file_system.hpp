#pragma once
// An in-memory FileSystem that loses exactly what a power cut may lose (after RocksDB's
// FaultInjectionTestEnv): it remembers, per file, how many bytes are synced and, per
// directory, which entries are synced, and crash() throws away everything else.
//
// Simplifications, all on the side of being no kinder than a real disk: durable file contents
// are always a prefix of the current contents (files only grow by appends, and truncate is
// durable at once); directories themselves are durable as soon as they are created.
// Deterministic: the only randomness (where a torn write is cut) comes from the seed.
#include <cstddef>
#include <map>
#include <mutex>
#include <optional>
#include <set>

#include "core/random.hpp"
#include "durability/durability_error.hpp"
#include "durability/file_system.hpp"

namespace isla::durability {

// Thrown by every operation once an armed crash point is reached: the "process" is dead and
// the test should call crash() to see what the disk kept.
class SimulatedCrash : public DurabilityError {
 public:
  using DurabilityError::DurabilityError;
};

enum class CrashMode {
  kDropUnsynced,  // every unsynced byte is lost
  // Each file keeps a random prefix of its unsynced bytes: the write in flight is torn and
  // later ones are lost, as when the page cache was part-way through writing back.
  kTearUnsynced,
  // As kTearUnsynced, but the kept bytes read as zeros: the file size reached the disk and
  // the data blocks did not.
  kTearUnsyncedAsZeros,
};

class FaultInjectingFileSystem final : public FileSystem {
 public:
  explicit FaultInjectingFileSystem(std::uint64_t seed = 1);
  ~FaultInjectingFileSystem() override;

  std::unique_ptr<WritableFile> create(const std::filesystem::path& path) override;
  std::unique_ptr<WritableFile> open_for_append(const std::filesystem::path& path) override;
  std::string read_file(const std::filesystem::path& path) override;
  std::vector<std::string> list_directory(const std::filesystem::path& dir) override;
  void rename(const std::filesystem::path& from, const std::filesystem::path& to) override;
  void remove(const std::filesystem::path& path) override;
  void truncate(const std::filesystem::path& path, std::uint64_t size) override;
  void sync_directory(const std::filesystem::path& dir) override;
  void create_directories(const std::filesystem::path& dir) override;
  bool exists(const std::filesystem::path& path) override;

  // Power cut: unsynced bytes and unsynced directory entries are gone, every open handle
  // becomes unusable, and any armed crash point is cleared.
  void crash(CrashMode mode = CrashMode::kDropUnsynced);

  // The next WritableFile::sync() or sync_directory() throws std::system_error (EIO) and
  // syncs nothing.
  void fail_next_sync();
  // The operation after the next `operations` mutating ones (create, open, append, sync,
  // close, rename, remove, truncate, sync_directory) throws SimulatedCrash without taking
  // effect, and so does every operation after it until crash().
  void crash_after_operations(std::size_t operations);
  // A full disk: appends beyond `free` more bytes throw std::system_error (ENOSPC) and write
  // nothing; nullopt (the default) is unlimited. Removing files frees nothing.
  void set_free_bytes(std::optional<std::uint64_t> free);
  // Cancels an armed crash point and a pending sync failure that have not fired yet.
  void disarm();
  // Flips every bit of one byte, durable or not; throws std::out_of_range past the end.
  void corrupt(const std::filesystem::path& path, std::uint64_t offset);

  // How many file syncs have succeeded: lets tests check that a batch cost one fsync.
  std::size_t file_syncs() const;
  // Bytes of the file that would survive crash(kDropUnsynced).
  std::uint64_t synced_size(const std::filesystem::path& path) const;

 private:
  friend class FaultInjectingWritableFile;
  struct Inode;
  using Entries = std::map<std::string, std::shared_ptr<Inode>>;

  // Counts one mutating operation and throws if the armed crash point has been reached.
  void step_towards_crash();
  void throw_if_crashed() const;
  void consume_sync_failure(const std::string& what);
  void take_space(std::uint64_t bytes, const std::string& path);
  bool directory_exists(const std::string& dir) const;
  void require_parent_directory(const std::string& path) const;
  std::shared_ptr<Inode> find_file(const std::string& path, const char* operation) const;

  mutable std::mutex mutex_;
  core::SeededRandom random_;
  Entries current_;  // what the running program sees
  Entries durable_;  // what the disk would show after a crash
  std::set<std::string> directories_;
  std::uint64_t epoch_ = 0;  // bumped by crash(), invalidating older handles
  bool fail_next_sync_ = false;
  std::optional<std::size_t> operations_before_crash_;
  bool crashed_ = false;
  std::optional<std::uint64_t> free_bytes_;
  std::size_t file_syncs_ = 0;
};

}  // namespace isla::durability
