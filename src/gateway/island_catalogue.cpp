#include "gateway/island_catalogue.hpp"

#include "core/endpoint.hpp"
#include "core/names.hpp"

namespace isla::gateway {

namespace json = boost::json;

bool valid_island_name(std::string_view name) {
  return core::valid_short_name(name);
}

json::object to_json(const IslandCatalogue& catalogue) {
  json::array gateways(catalogue.gateways.begin(), catalogue.gateways.end());
  json::array figures(catalogue.figures.begin(), catalogue.figures.end());
  return {{"island", catalogue.island},
          {"bridge", catalogue.bridge},
          {"gateways", std::move(gateways)},
          {"figures", std::move(figures)}};
}

namespace {

// Reads an array of strings that each pass `valid`, at most `limit` of them.
template <class Valid>
std::optional<std::string> read_strings(const json::object& object, std::string_view key,
                                        std::size_t limit, Valid valid,
                                        std::vector<std::string>& out) {
  const auto* value = object.if_contains(key);
  if (value == nullptr || !value->is_array()) return std::string(key) + " must be an array";
  const auto& array = value->as_array();
  if (array.size() > limit) {
    return std::string(key) + " has more than " + std::to_string(limit) + " entries";
  }
  for (const auto& item : array) {
    if (!item.is_string() || !valid(item.as_string())) {
      return std::string(key) + " has an invalid entry";
    }
    out.emplace_back(item.as_string());
  }
  return std::nullopt;
}

bool valid_address(std::string_view text) {
  return core::parse_endpoint(text).has_value();
}

}  // namespace

std::variant<IslandCatalogue, std::string> catalogue_from_json(const json::value& value) {
  if (!value.is_object()) return std::string("catalogue must be a JSON object");
  const auto& object = value.as_object();
  IslandCatalogue catalogue;
  const auto* island = object.if_contains("island");
  if (island == nullptr || !island->is_string() || !valid_island_name(island->as_string())) {
    return std::string("island must be 1-64 characters of a-z, A-Z, 0-9, '-', '_', '.'");
  }
  catalogue.island = std::string(island->as_string());
  const auto* bridge = object.if_contains("bridge");
  if (bridge == nullptr || !bridge->is_string() ||
      (!bridge->as_string().empty() && !valid_address(bridge->as_string()))) {
    return std::string("bridge must be HOST:PORT or empty");
  }
  catalogue.bridge = std::string(bridge->as_string());
  if (auto error =
          read_strings(object, "gateways", kMaxIslandGateways, valid_address, catalogue.gateways)) {
    return *error;
  }
  if (auto error = read_strings(
          object, "figures", kMaxIslandFigures,
          [](std::string_view name) { return core::valid_figure_name(name); }, catalogue.figures)) {
    return *error;
  }
  return catalogue;
}

}  // namespace isla::gateway
