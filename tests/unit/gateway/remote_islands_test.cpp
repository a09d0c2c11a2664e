#include "gateway/remote_islands.hpp"

#include <gtest/gtest.h>

namespace isla::gateway {
namespace {

using namespace std::chrono_literals;

IslandCatalogue island_b() {
  return {"b", "10.0.2.1:5235", {"10.0.2.1:5235", "10.0.2.2:5235"}, {"zebra", "giraffe"}};
}

TEST(IslandCatalogue, RoundTripsAndRefusesWhatItShouldNot) {
  const auto catalogue = island_b();
  auto parsed = catalogue_from_json(to_json(catalogue));
  ASSERT_TRUE(std::holds_alternative<IslandCatalogue>(parsed));
  EXPECT_EQ(std::get<IslandCatalogue>(parsed), catalogue);

  auto refuse = [](boost::json::value value) {
    auto result = catalogue_from_json(value);
    EXPECT_TRUE(std::holds_alternative<std::string>(result)) << boost::json::serialize(value);
    return std::holds_alternative<std::string>(result) ? std::get<std::string>(result) : "";
  };
  EXPECT_NE(refuse(boost::json::array{}).find("object"), std::string::npos);
  auto bad_island = to_json(catalogue);
  bad_island["island"] = "no spaces";
  EXPECT_NE(refuse(bad_island).find("island"), std::string::npos);
  auto bad_bridge = to_json(catalogue);
  bad_bridge["bridge"] = "nowhere";
  EXPECT_NE(refuse(bad_bridge).find("bridge"), std::string::npos);
  auto bad_figure = to_json(catalogue);
  bad_figure["figures"] = boost::json::array{"../etc"};
  EXPECT_NE(refuse(bad_figure).find("figures"), std::string::npos);
  auto too_many = to_json(catalogue);
  boost::json::array gateways;
  for (std::size_t i = 0; i <= kMaxIslandGateways; ++i) {
    gateways.emplace_back("10.0.0.1:" + std::to_string(1000 + i));
  }
  too_many["gateways"] = std::move(gateways);
  EXPECT_NE(refuse(too_many).find("more than"), std::string::npos);
}

TEST(RemoteIslands, RoutesARemoteFigureBridgeFirstAndForgetsSilentIslands) {
  RemoteIslands remote("a", 6000ms);
  const core::SteadyTime start{};
  EXPECT_TRUE(remote.update(island_b(), start));
  EXPECT_FALSE(remote.update(island_b(), start + 1s));  // a refresh, nothing new
  auto route = remote.route("zebra");
  ASSERT_TRUE(route);
  EXPECT_EQ(route->island, "b");
  EXPECT_EQ(route->gateways, (std::vector<std::string>{"10.0.2.1:5235", "10.0.2.2:5235"}));
  EXPECT_FALSE(remote.route("lion"));
  EXPECT_TRUE(remote.expire(start + 6s).empty());  // refreshed at 1 s
  EXPECT_EQ(remote.expire(start + 7s), std::vector<std::string>{"b"});
  EXPECT_FALSE(remote.route("zebra"));
}

TEST(RemoteIslands, AByeTakesTheGatewayOutOfRoutesAndOurOwnIslandIsIgnored) {
  RemoteIslands remote("a", 6000ms);
  EXPECT_FALSE(remote.update({"a", "", {"10.0.1.1:5235"}, {"lion"}}, {}));
  EXPECT_FALSE(remote.route("lion"));
  remote.update(island_b(), {});
  EXPECT_TRUE(remote.remove_gateway("b", "10.0.2.1:5235"));
  EXPECT_EQ(remote.route("zebra")->gateways, std::vector<std::string>{"10.0.2.2:5235"});
  EXPECT_TRUE(remote.remove_gateway("b", "10.0.2.2:5235"));
  ASSERT_TRUE(remote.route("zebra"));  // known, but nobody left to ask: 503, not 404
  EXPECT_TRUE(remote.route("zebra")->gateways.empty());
  EXPECT_FALSE(remote.remove_gateway("c", "10.0.2.2:5235"));
}

TEST(RemoteIslands, HoldsAtMostTheIslandLimit) {
  RemoteIslands remote("a", 6000ms);
  for (std::size_t i = 0; i < kMaxRemoteIslands + 10; ++i) {
    remote.update({"i" + std::to_string(i), "", {"10.0.0.1:5235"}, {"f"}}, {});
  }
  EXPECT_EQ(remote.islands().size(), kMaxRemoteIslands);
}

}  // namespace
}  // namespace isla::gateway
