#include "durability/atomic_file.hpp"

namespace isla::durability {

void write_atomically(FileSystem& fs, const std::filesystem::path& path, std::string_view bytes) {
  std::filesystem::path temporary = path;
  temporary += ".tmp";
  auto file = fs.create(temporary);
  file->append(bytes);
  // Sync before the rename: otherwise the new name could survive a crash pointing at a file
  // whose data never reached the disk.
  file->sync();
  file->close();
  fs.rename(temporary, path);
  fs.sync_directory(parent_directory(path));
}

std::optional<std::string> read_if_exists(FileSystem& fs, const std::filesystem::path& path) {
  if (!fs.exists(path)) return std::nullopt;
  return fs.read_file(path);
}

}  // namespace isla::durability
