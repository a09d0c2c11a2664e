#include "gateway/island_bridge.hpp"

#include <spdlog/spdlog.h>

#include <boost/json.hpp>
#include <set>

namespace isla::gateway {

namespace json = boost::json;
using Clock = std::chrono::steady_clock;

namespace {

constexpr auto kCallTimeout = std::chrono::milliseconds(400);
constexpr std::size_t kMaxBodyIslands = kMaxRemoteIslands;

net::HttpRequest json_post(std::string target, std::string body) {
  net::HttpRequest request;
  request.method = "POST";
  request.target = std::move(target);
  request.body = std::move(body);
  request.headers.emplace_back("Content-Type", "application/json");
  return request;
}

std::optional<json::value> parse(std::string_view body) {
  boost::system::error_code error;
  auto value = json::parse(body, error);
  if (error) return std::nullopt;
  return value;
}

}  // namespace

IslandBridge::IslandBridge(BridgeOptions options, LocalIsland local, net::HttpClient client)
    : options_(std::move(options)),
      local_(std::move(local)),
      client_(std::move(client)),
      remote_(options_.island, options_.remote_ttl) {}

void IslandBridge::learn(IslandCatalogue catalogue, const std::string& how) {
  const auto name = catalogue.island;
  const auto figures = catalogue.figures.size();
  const auto bridge = catalogue.bridge;
  if (remote_.update(std::move(catalogue), Clock::now()) && local_.on_event) {
    local_.on_event("island_updated", name + " bridge=" + bridge +
                                          " figures=" + std::to_string(figures) + " via " + how);
  }
}

void IslandBridge::add_routes(net::Router& router) {
  router.add(
      "POST", "/internal/islands/exchange", false, "island_exchange", net::Access::node,
      [this](net::HttpRequest& request, std::string_view) -> asio::awaitable<net::HttpResponse> {
        auto value = parse(request.body);
        if (!value) co_return net::json_error(400, "body is not JSON");
        auto parsed = catalogue_from_json(*value);
        if (auto* error = std::get_if<std::string>(&parsed)) {
          co_return net::json_error(400, *error);
        }
        auto catalogue = std::get<IslandCatalogue>(std::move(parsed));
        if (catalogue.island == options_.island) {
          co_return net::json_error(400, "that is this island's own name");
        }
        learn(std::move(catalogue), "exchange");
        co_return net::json_response(200, json::serialize(to_json(local_.catalogue())));
      });
  router.add(
      "POST", "/internal/islands/remote", false, "island_remote", net::Access::node,
      [this](net::HttpRequest& request, std::string_view) -> asio::awaitable<net::HttpResponse> {
        auto value = parse(request.body);
        const auto* islands =
            value && value->is_object() ? value->as_object().if_contains("islands") : nullptr;
        if (islands == nullptr || !islands->is_array() ||
            islands->as_array().size() > kMaxBodyIslands) {
          co_return net::json_error(400, "body must be {\"islands\":[catalogue,...]}");
        }
        for (const auto& item : islands->as_array()) {
          auto parsed = catalogue_from_json(item);
          if (auto* error = std::get_if<std::string>(&parsed)) {
            co_return net::json_error(400, *error);
          }
          learn(std::get<IslandCatalogue>(std::move(parsed)), "our bridge");
        }
        co_return net::json_response(200, "{}");
      });
  router.add(
      "POST", "/internal/islands/bye", false, "island_bye", net::Access::node,
      [this](net::HttpRequest& request, std::string_view) -> asio::awaitable<net::HttpResponse> {
        auto value = parse(request.body);
        const auto* object = value && value->is_object() ? &value->as_object() : nullptr;
        const auto* island = object ? object->if_contains("island") : nullptr;
        const auto* node = object ? object->if_contains("node") : nullptr;
        if (!island || !island->is_string() || !node || !node->is_string()) {
          co_return net::json_error(400, "body must be {\"island\":NAME,\"node\":HOST:PORT}");
        }
        const std::string name(island->as_string());
        const std::string address(node->as_string());
        if (remote_.remove_gateway(name, address) && local_.on_event) {
          local_.on_event("island_bye", name + " " + address);
        }
        co_return net::json_response(200, "{}");
      });
}

asio::awaitable<bool> IslandBridge::exchange_with(const core::Endpoint& gateway) {
  auto request =
      json_post("/internal/islands/exchange", json::serialize(to_json(local_.catalogue())));
  auto result = co_await client_.request(gateway, request, Clock::now() + kCallTimeout);
  if (!result.ok() || result.response->status != 200) co_return false;
  auto value = parse(result.response->body);
  if (!value) co_return false;
  auto parsed = catalogue_from_json(*value);
  auto* catalogue = std::get_if<IslandCatalogue>(&parsed);
  if (catalogue == nullptr || catalogue->island == options_.island) co_return false;
  learn(std::move(*catalogue), "exchange with " + gateway.str());
  co_return true;
}

asio::awaitable<void> IslandBridge::exchange_round() {
  // One answer per island is enough: try each known island's bridge first, then its other
  // gateways, then the configured addresses not yet known to belong to any island.
  std::set<std::string> refreshed;
  std::set<std::string> tried;
  for (const auto& island : remote_.islands()) {
    std::vector<std::string> order;
    if (!island.bridge.empty()) order.push_back(island.bridge);
    for (const auto& gateway : island.gateways) order.push_back(gateway);
    for (const auto& address : order) {
      if (!tried.insert(address).second) continue;
      const auto endpoint = core::parse_endpoint(address);
      if (endpoint && co_await exchange_with(*endpoint)) {
        refreshed.insert(island.island);
        break;
      }
    }
  }
  for (const auto& peer : options_.island_peers) {
    if (!tried.insert(peer.str()).second) continue;
    co_await exchange_with(peer);
  }
}

asio::awaitable<void> IslandBridge::push_to_island() {
  json::array islands;
  for (const auto& island : remote_.islands()) islands.push_back(to_json(island));
  const auto body = json::serialize(json::object{{"islands", std::move(islands)}});
  for (const auto& peer : local_.peers()) {
    co_await post(peer, "/internal/islands/remote", body, Clock::now() + kCallTimeout);
  }
}

asio::awaitable<void> IslandBridge::post(const core::Endpoint& to, std::string target,
                                         std::string body, Clock::time_point deadline) {
  auto result =
      co_await client_.request(to, json_post(std::move(target), std::move(body)), deadline);
  if (!result.ok())
    spdlog::debug("island call failed to={} error=\"{}\"", to.str(), result.message);
}

asio::awaitable<void> IslandBridge::run() {
  for (;;) {
    co_await net::sleep_for(options_.exchange_interval);
    for (const auto& name : remote_.expire(Clock::now())) {
      if (local_.on_event) local_.on_event("island_lost", name);
    }
    if (!local_.is_bridge()) continue;
    co_await exchange_round();
    co_await push_to_island();
  }
}

asio::awaitable<void> IslandBridge::say_goodbye(Clock::time_point deadline) {
  const auto body =
      json::serialize(json::object{{"island", options_.island}, {"node", options_.self}});
  for (const auto& island : remote_.islands()) {
    std::set<std::string> told;
    for (const auto& address : island.gateways) {
      if (Clock::now() >= deadline) co_return;
      const auto endpoint = core::parse_endpoint(address);
      if (endpoint && told.insert(address).second) {
        co_await post(*endpoint, "/internal/islands/bye", body,
                      std::min(deadline, Clock::now() + kCallTimeout));
      }
    }
  }
}

}  // namespace isla::gateway
