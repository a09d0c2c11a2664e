#pragma once
// Small files replaced whole, such as Raft's hard state (term, vote) and snapshots: after a
// crash at any moment the file holds either the old contents or the new, never a mixture.
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "durability/file_system.hpp"

namespace isla::durability {

// Writes `<path>.tmp`, syncs it, renames it over `path` and syncs the directory: durable when
// this returns. A crash part-way leaves the old file and, at worst, a stale `.tmp` that the
// next write overwrites.
void write_atomically(FileSystem& fs, const std::filesystem::path& path, std::string_view bytes);

// The contents, or nullopt if no write_atomically to `path` ever completed its rename.
std::optional<std::string> read_if_exists(FileSystem& fs, const std::filesystem::path& path);

}  // namespace isla::durability
