#include "support/partitioned_island.hpp"

namespace isla::testing {

namespace json = boost::json;

void start_partitioning_gateways(Island& island, int gateways, int replicas) {
  island.start_gateways(gateways, {"--partition-catalog", catalog_dir().string(), "--replicas",
                                   std::to_string(replicas)});
  island.announce_pieces_to(gateways);
}

core::Endpoint start_partitioned_pieces(Island& island, int index) {
  return island.start_pieces(index, {}, {"--partitioned"});
}

std::map<std::string, FigurePlacement> figure_placement(const Island& island, int gateway) {
  std::map<std::string, FigurePlacement> out;
  net::HttpRequest request;
  request.target = "/api/figures";
  auto result = net::fetch(island.gateway(gateway), request, std::chrono::milliseconds(2000));
  if (!result.ok() || result.response->status != 200) return out;
  boost::system::error_code error;
  auto body = json::parse(result.response->body, error);
  if (error || !body.is_object()) return out;
  for (const auto& figure : body.at("figures").as_array()) {
    const auto& entry = figure.as_object();
    auto& placement = out[std::string(entry.at("name").as_string())];
    for (const auto& server : entry.at("servers").as_array()) {
      placement.servers.insert(std::string(server.as_string()));
    }
    if (const auto* owners = entry.if_contains("owners")) {
      for (const auto& owner : owners->as_array()) {
        placement.owners.insert(std::string(owner.as_string()));
      }
    }
  }
  return out;
}

bool placement_settled(const std::map<std::string, FigurePlacement>& placement,
                       const std::set<std::string>& members, std::size_t replicas) {
  if (placement.empty()) return false;
  for (const auto& [figure, where] : placement) {
    if (where.owners.size() != replicas || where.servers != where.owners) return false;
    for (const auto& owner : where.owners) {
      if (!members.contains(owner)) return false;
    }
  }
  return true;
}

}  // namespace isla::testing
