#include "gateway/route_changes.hpp"

#include <gtest/gtest.h>

namespace isla::gateway {
namespace {

using namespace std::chrono_literals;

membership::Datagram announce(const std::string& node, std::vector<std::string> figures,
                              bool draining = false) {
  membership::Datagram datagram;
  datagram.type = membership::DatagramType::heartbeat;
  datagram.node = node;
  datagram.role = "pieces";
  datagram.island = "local";
  datagram.incarnation = 1;
  datagram.seq = 1;
  datagram.figures = std::move(figures);
  datagram.draining = draining;
  return datagram;
}

TEST(RouteChanges, NameServersThatBecomeAndStopBeingRoutableWithTheirFigures) {
  core::FakeClock clock;
  RoutingTable table{RoutingOptions{}};
  const auto empty = table.snapshot();
  table.on_announce(announce("127.0.1.11:1233", {"owl", "giraffe"}), clock.now());
  const auto one = table.snapshot();
  EXPECT_EQ(route_changes(*empty, *one),
            (std::vector<RouteChange>{{"127.0.1.11:1233", true, {"giraffe", "owl"}}}));
  EXPECT_TRUE(route_changes(*one, *one).empty());

  auto draining = announce("127.0.1.11:1233", {"owl", "giraffe"}, true);
  draining.seq = 2;
  table.on_announce(draining, clock.now());
  const auto drained = table.snapshot();
  EXPECT_EQ(route_changes(*one, *drained),
            (std::vector<RouteChange>{{"127.0.1.11:1233", false, {"giraffe", "owl"}}}));
}

}  // namespace
}  // namespace isla::gateway
