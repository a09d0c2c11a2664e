#pragma once
// Which store a data directory belongs to. The first start writes the island's name, a
// cluster id derived from it and the bootstrap voters, and the voters as membership changes
// them; every later start compares its flags with what the data says and refuses to mix
// two histories: another island's data, or voters that are neither the ones the store was
// founded with nor its current ones.
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "durability/file_system.hpp"

namespace isla::store {

struct ClusterIdentity {
  std::string island;
  std::uint64_t cluster_id = 0;
  std::vector<std::string> voters;  // host:port, sorted
  friend bool operator==(const ClusterIdentity&, const ClusterIdentity&) = default;
};

// The identity a new store of `island` with these voters gets (the same on every voter).
ClusterIdentity identity_for(const std::string& island, std::vector<std::string> voters);

std::string encode_identity(const ClusterIdentity& identity);
// Throws std::invalid_argument naming what is wrong.
ClusterIdentity decode_identity(std::string_view text);

std::optional<ClusterIdentity> load_identity(durability::FileSystem& fs,
                                             const std::filesystem::path& dir);
void save_identity(durability::FileSystem& fs, const std::filesystem::path& dir,
                   const ClusterIdentity& identity);

// Why a node started with `wanted` (from its flags) may not use data that says `found`;
// empty if it may. `dir` is named in the message, with what to do about it.
std::string identity_conflict(const ClusterIdentity& found, const ClusterIdentity& wanted,
                              const std::filesystem::path& dir);

}  // namespace isla::store
