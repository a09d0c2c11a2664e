#pragma once
// The real disk, through open/write/fdatasync/rename/ftruncate.
#include "durability/file_system.hpp"

namespace isla::durability {

// Beyond the FileSystem contract it also fsyncs the parent directory after every
// create/rename/remove (cheap, as they are rare), so a caller that forgets sync_directory
// is still safe here; FaultInjectingFileSystem is the one that catches such a caller.
class PosixFileSystem final : public FileSystem {
 public:
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
};

}  // namespace isla::durability
