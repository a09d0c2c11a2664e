#include "store/cluster_identity.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <boost/json.hpp>
#include <stdexcept>

#include "core/stable_hash.hpp"
#include "durability/atomic_file.hpp"

namespace isla::store {

namespace json = boost::json;

namespace {

constexpr const char* kFileName = "cluster.json";

std::string joined(const std::vector<std::string>& items) {
  return fmt::format("{}", fmt::join(items, ","));
}

}  // namespace

ClusterIdentity identity_for(const std::string& island, std::vector<std::string> voters) {
  std::sort(voters.begin(), voters.end());
  voters.erase(std::unique(voters.begin(), voters.end()), voters.end());
  ClusterIdentity identity;
  identity.island = island;
  identity.cluster_id = core::fnv1a(island + "\n" + joined(voters)) | 1;
  identity.voters = std::move(voters);
  return identity;
}

std::string encode_identity(const ClusterIdentity& identity) {
  json::array voters;
  for (const auto& voter : identity.voters) voters.emplace_back(voter);
  return json::serialize(json::object{{"island", identity.island},
                                      {"cluster_id", fmt::format("{:016x}", identity.cluster_id)},
                                      {"voters", std::move(voters)}}) +
         "\n";
}

ClusterIdentity decode_identity(std::string_view text) {
  json::error_code error;
  auto value = json::parse(text, error);
  if (error || !value.is_object()) throw std::invalid_argument("not a JSON object");
  const auto& object = value.as_object();
  ClusterIdentity identity;
  const auto* island = object.if_contains("island");
  const auto* id = object.if_contains("cluster_id");
  const auto* voters = object.if_contains("voters");
  if (island == nullptr || !island->is_string()) throw std::invalid_argument("no \"island\"");
  if (id == nullptr || !id->is_string()) throw std::invalid_argument("no \"cluster_id\"");
  if (voters == nullptr || !voters->is_array()) throw std::invalid_argument("no \"voters\"");
  identity.island = std::string(island->as_string());
  const std::string hex(id->as_string());
  std::size_t used = 0;
  try {
    identity.cluster_id = std::stoull(hex, &used, 16);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used != hex.size() || hex.empty()) throw std::invalid_argument("bad \"cluster_id\"");
  for (const auto& voter : voters->as_array()) {
    if (!voter.is_string()) throw std::invalid_argument("a voter is not a string");
    identity.voters.emplace_back(voter.as_string());
  }
  std::sort(identity.voters.begin(), identity.voters.end());
  return identity;
}

std::optional<ClusterIdentity> load_identity(durability::FileSystem& fs,
                                             const std::filesystem::path& dir) {
  auto text = durability::read_if_exists(fs, dir / kFileName);
  if (!text) return std::nullopt;
  try {
    return decode_identity(*text);
  } catch (const std::invalid_argument& error) {
    throw std::runtime_error((dir / kFileName).string() + " is damaged (" + error.what() +
                             "); restore it or remove " + dir.string() + " to start over");
  }
}

void save_identity(durability::FileSystem& fs, const std::filesystem::path& dir,
                   const ClusterIdentity& identity) {
  fs.create_directories(dir);
  durability::write_atomically(fs, dir / kFileName, encode_identity(identity));
}

std::string identity_conflict(const ClusterIdentity& found, const ClusterIdentity& wanted,
                              const std::filesystem::path& dir) {
  if (found.island != wanted.island) {
    return fmt::format(
        "the store data in {} belongs to island '{}', but this gateway was started for island "
        "'{}'. Start it with --island {}, give it another --data-dir, or remove {} to start "
        "over (isla up --fresh does that for a local island)",
        dir.string(), found.island, wanted.island, found.island, dir.string());
  }
  // The voters the store was founded with name it as well as its current ones: its cluster
  // id derives from them, so they are what every gateway can keep being given after
  // membership changes, and what one joining later needs to share that id.
  if (found.voters != wanted.voters && found.cluster_id != wanted.cluster_id) {
    return fmt::format(
        "the store data in {} has voters {}, but --store-voters says {}. Start it with the "
        "voters the store was founded with (the other gateways' --store-voters) or with "
        "--store-voters {} (membership changes go through `isla store add` and `isla store "
        "remove`), or remove {} to start over",
        dir.string(), joined(found.voters), joined(wanted.voters), joined(found.voters),
        dir.string());
  }
  return {};
}

}  // namespace isla::store
