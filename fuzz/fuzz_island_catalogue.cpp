// Fuzzes the catalogue another island sends (POST /internal/islands/exchange and /remote):
// whatever it accepts must be within the limits and survive a round trip unchanged, and
// what it refuses must say why. RemoteIslands is fed what passes, to check its bounds too.
#include <boost/json.hpp>
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <variant>

#include "core/names.hpp"
#include "gateway/island_catalogue.hpp"
#include "gateway/remote_islands.hpp"
#include "invariant.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace isla::gateway;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  boost::system::error_code error;
  const auto value = boost::json::parse(text, error);
  if (error) return 0;
  auto parsed = catalogue_from_json(value);
  if (const auto* why = std::get_if<std::string>(&parsed)) {
    if (why->empty()) fail("refused without a reason");
    return 0;
  }
  const auto& catalogue = std::get<IslandCatalogue>(parsed);
  if (!valid_island_name(catalogue.island)) fail("accepted a bad island name");
  if (catalogue.gateways.size() > kMaxIslandGateways) fail("accepted too many gateways");
  if (catalogue.figures.size() > kMaxIslandFigures) fail("accepted too many figures");
  for (const auto& figure : catalogue.figures) {
    if (!isla::core::valid_figure_name(figure)) fail("accepted a bad figure name");
  }
  auto again = catalogue_from_json(to_json(catalogue));
  const auto* round = std::get_if<IslandCatalogue>(&again);
  if (round == nullptr || !(*round == catalogue)) fail("the catalogue did not round-trip");

  RemoteIslands remote("fuzz-home", std::chrono::milliseconds(1000));
  remote.update(catalogue, {});
  for (const auto& figure : catalogue.figures) {
    const auto route = remote.route(figure);
    if (catalogue.island != "fuzz-home" && !route) fail("an accepted figure has no route");
  }
  return 0;
}
