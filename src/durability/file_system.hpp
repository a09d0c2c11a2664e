#pragma once
// The seam between durable storage and the disk: production uses PosixFileSystem, tests swap
// in FaultInjectingFileSystem to lose exactly what a power cut would lose.
//
// The durability contract every implementation honours and every caller must rely on no more:
//  - bytes appended to a file survive a crash only once WritableFile::sync() has returned;
//  - a directory entry made by create/rename/remove survives only once sync_directory() on
//    the parent directory has returned;
//  - truncate() and create_directories() are durable when they return.
// I/O failures throw std::system_error whose message names the path.
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace isla::durability {

// A file opened for appending; every append goes to its end.
class WritableFile {
 public:
  virtual ~WritableFile() = default;

  virtual void append(std::string_view bytes) = 0;
  // Makes every byte appended so far durable (fdatasync).
  virtual void sync() = 0;
  // Current length in bytes, durable or not.
  virtual std::uint64_t size() const = 0;
  // Releases the handle without syncing; later calls throw DurabilityError.
  virtual void close() = 0;
};

class FileSystem {
 public:
  virtual ~FileSystem() = default;

  // Creates the file, or empties it if it exists, and opens it for appending.
  virtual std::unique_ptr<WritableFile> create(const std::filesystem::path& path) = 0;
  // Opens an existing file for appending at its current end.
  virtual std::unique_ptr<WritableFile> open_for_append(const std::filesystem::path& path) = 0;

  virtual std::string read_file(const std::filesystem::path& path) = 0;
  // Names (not paths) of the files and directories directly inside dir, sorted.
  virtual std::vector<std::string> list_directory(const std::filesystem::path& dir) = 0;
  // Replaces `to` if it exists, atomically.
  virtual void rename(const std::filesystem::path& from, const std::filesystem::path& to) = 0;
  // Removes a file (not a directory).
  virtual void remove(const std::filesystem::path& path) = 0;
  virtual void truncate(const std::filesystem::path& path, std::uint64_t size) = 0;
  virtual void sync_directory(const std::filesystem::path& dir) = 0;
  virtual void create_directories(const std::filesystem::path& dir) = 0;
  virtual bool exists(const std::filesystem::path& path) = 0;
};

// The directory whose sync makes an entry for `path` durable.
inline std::filesystem::path parent_directory(const std::filesystem::path& path) {
  auto parent = path.parent_path();
  return parent.empty() ? std::filesystem::path(".") : parent;
}

}  // namespace isla::durability
