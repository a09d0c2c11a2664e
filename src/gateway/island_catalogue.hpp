#pragma once
// What one island tells another (docs/api.md#islands): its name, its bridge, its gateways
// and the figures its piece servers hold. The JSON is checked field by field: it comes from
// another island, whose bugs must not become ours.
#include <boost/json.hpp>
#include <string>
#include <variant>
#include <vector>

namespace isla::gateway {

inline constexpr std::size_t kMaxIslandGateways = 64;
inline constexpr std::size_t kMaxIslandFigures = 10'000;

struct IslandCatalogue {
  std::string island;
  std::string bridge;                 // HOST:PORT of the island's elected bridge; may be empty
  std::vector<std::string> gateways;  // HOST:PORT of its live gateways
  std::vector<std::string> figures;   // figures at least one of its piece servers holds
  friend bool operator==(const IslandCatalogue&, const IslandCatalogue&) = default;
};

boost::json::object to_json(const IslandCatalogue& catalogue);
// The catalogue, or the reason it was refused (for a 400 body and the logs).
std::variant<IslandCatalogue, std::string> catalogue_from_json(const boost::json::value& value);

// Island names: 1-64 of a-z, A-Z, 0-9, '-', '_', '.' (as in datagrams).
bool valid_island_name(std::string_view name);

}  // namespace isla::gateway
