#pragma once
// Federation between islands (ARCHITECTURE.md §4 "Islands"). The island's elected bridge
// exchanges catalogues with the gateways of other islands (--island-peers, then whatever
// gateways their catalogues name) and passes what it learnt to the gateways of its own
// island, so that any of them can route a figure held only in another island. Every
// gateway answers an exchange (a remote bridge may reach any of them) and a bye.
#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "core/endpoint.hpp"
#include "gateway/remote_islands.hpp"
#include "net/asio.hpp"
#include "net/http_client.hpp"
#include "net/router.hpp"

namespace isla::gateway {

struct BridgeOptions {
  std::string island;
  std::string self;                          // this gateway's HOST:PORT
  std::vector<core::Endpoint> island_peers;  // gateways of other islands, from --island-peers
  std::chrono::milliseconds exchange_interval{500};
  // Remote islands not refreshed for this long are forgotten. Longer than a bridge
  // election (2 s), so that remote figures outlive a change of bridge on either side.
  std::chrono::milliseconds remote_ttl{6000};
};

// What the bridge needs to know of its own island, asked each round.
struct LocalIsland {
  std::function<bool()> is_bridge;
  std::function<IslandCatalogue()> catalogue;          // ours, with our bridge and gateways
  std::function<std::vector<core::Endpoint>()> peers;  // our island's other live gateways
  // Told when another island appears, changes, loses a gateway or is forgotten.
  std::function<void(const std::string& kind, const std::string& detail)> on_event;
};

class IslandBridge {
 public:
  IslandBridge(BridgeOptions options, LocalIsland local, net::HttpClient client);

  RemoteIslands& remote() { return remote_; }
  const RemoteIslands& remote() const { return remote_; }

  // POST /internal/islands/exchange, /internal/islands/remote, /internal/islands/bye.
  void add_routes(net::Router& router);
  // The exchange loop; runs until the context stops, doing nothing while not the bridge.
  asio::awaitable<void> run();
  // Tells the other islands' gateways that this gateway leaves (bounded by `deadline`).
  asio::awaitable<void> say_goodbye(std::chrono::steady_clock::time_point deadline);

 private:
  asio::awaitable<void> exchange_round();
  asio::awaitable<bool> exchange_with(const core::Endpoint& gateway);
  asio::awaitable<void> push_to_island();
  void learn(IslandCatalogue catalogue, const std::string& how);
  asio::awaitable<void> post(const core::Endpoint& to, std::string target, std::string body,
                             std::chrono::steady_clock::time_point deadline);

  BridgeOptions options_;
  LocalIsland local_;
  net::HttpClient client_;
  RemoteIslands remote_;
};

}  // namespace isla::gateway
