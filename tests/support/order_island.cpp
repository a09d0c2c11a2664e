#include "support/order_island.hpp"

#include <gtest/gtest.h>

#include "core/clock.hpp"
#include "security/crypto.hpp"
#include "security/island_secret.hpp"
#include "support/raw_http.hpp"

namespace isla::testing {

namespace json = boost::json;

namespace {

// The gateway that gateway `g` names as the store's leader, or -1.
int leader_named_by(const Island& island, int g, int count) {
  net::HttpRequest request;
  request.target = "/api/status";
  auto result = net::fetch(island.gateway(g), request, std::chrono::seconds(1));
  if (!result.ok() || result.response->status != 200) return -1;
  json::error_code ec;
  auto status = json::parse(result.response->body, ec);
  if (ec || !status.is_object()) return -1;
  const auto* store = status.as_object().if_contains("store");
  if (store == nullptr || !store->is_object()) return -1;
  const auto* address = store->as_object().if_contains("leader_address");
  if (address == nullptr || !address->is_string()) return -1;
  for (int candidate = 0; candidate < count; ++candidate) {
    if (island.gateway(candidate).str() == address->as_string()) return candidate;
  }
  return -1;
}

}  // namespace

void start_order_island(Island& island, int gateways, const std::vector<std::string>& figures) {
  island.announce_pieces_to(gateways);
  island.start_gateways(gateways);
  island.start_pieces(0, figures);
  for (int g = 0; g < gateways; ++g) {
    net::HttpRequest request;
    request.target = "/api/figures";
    ASSERT_TRUE(eventually(
        [&] {
          auto result = net::fetch(island.gateway(g), request, std::chrono::seconds(1));
          if (!result.ok() || result.response->status != 200) return false;
          return result.response->body.find('"' + figures.back() + '"') != std::string::npos;
        },
        std::chrono::seconds(15)))
        << "gateway " << g << " never listed the figures\n"
        << island.gateway_log(g);
  }
  // An order's first request needs the store: until its first election is over (a second or
  // so after the start) every gateway answers 503 and asks the client to retry.
  ASSERT_TRUE(eventually(
      [&] {
        const int leader = leader_named_by(island, 0, gateways);
        if (leader < 0) return false;
        for (int g = 1; g < gateways; ++g) {
          if (leader_named_by(island, g, gateways) != leader) return false;
        }
        return true;
      },
      std::chrono::seconds(15)))
      << "the gateways never agreed on a store leader\n"
      << island.gateway_log(0);
}

std::string token_for(const Island& island, const std::string& subject, security::Role role) {
  const auto now = core::wall_clock_ms();
  return security::mint_token(
      security::derive_key(security::load_secret_file(island.secret_file()), "token"),
      {subject, role, now, now + 3'600'000, "order-test-" + subject});
}

std::vector<core::Endpoint> gateway_endpoints(const Island& island, int count) {
  std::vector<core::Endpoint> out;
  for (int g = 0; g < count; ++g) out.push_back(island.gateway(g));
  return out;
}

int store_leader(const Island& island, int count, const std::set<int>& dead) {
  for (int g = 0; g < count; ++g) {
    if (dead.contains(g)) continue;
    if (const int leader = leader_named_by(island, g, count); leader >= 0) return leader;
  }
  return -1;
}

std::map<std::string, int> items_by_key(const json::value& order) {
  std::map<std::string, int> keys;
  for (const auto& item : order.at("items").as_array()) {
    ++keys[std::string(item.at("idempotency_key").as_string())];
  }
  return keys;
}

}  // namespace isla::testing
