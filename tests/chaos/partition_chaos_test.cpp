// A partitioned catalogue (issue 14) losing a piece server to kill -9 under load: every
// figure it owned is still served by its other owner, with no failed request, and the
// catalogue re-replicates to two owners among the survivors. Plain loopback processes: no
// root needed.
#include <gtest/gtest.h>

#include <csignal>

#include "support/load.hpp"
#include "support/partitioned_island.hpp"
#include "support/raw_http.hpp"

namespace isla::testing {
namespace {

using namespace std::chrono_literals;

constexpr std::size_t kReplicas = 2;

TEST(PartitionChaos, KillNineOfAPieceServerLosesNoRequestAndReReplicatesItsShare) {
  Island island;
  start_partitioning_gateways(island, 1, static_cast<int>(kReplicas));
  std::set<std::string> members;
  for (int i = 0; i < 4; ++i) members.insert(start_partitioned_pieces(island, i).str());
  island.wait_for_servers(4);
  ASSERT_TRUE(eventually(
      [&] { return placement_settled(figure_placement(island), members, kReplicas); }, 30s))
      << island.gateway_log();

  const auto victim = island.pieces_address(2).str();
  std::vector<std::string> victims_figures;
  for (const auto& [figure, where] : figure_placement(island)) {
    if (where.owners.contains(victim)) victims_figures.push_back(figure);
  }
  ASSERT_FALSE(victims_figures.empty());
  // The load asks only for the figures the victim holds: each of them has one other copy.
  SteadyLoad load(island.gateway(), victims_figures, 4);
  ASSERT_TRUE(load.wait_for_more(200, 30s));
  island.pieces_process(2).signal(SIGKILL);
  members.erase(victim);
  const bool resettled = eventually(
      [&] { return placement_settled(figure_placement(island), members, kReplicas); }, 30s);
  ASSERT_TRUE(load.wait_for_more(300, 30s));
  load.stop();
  EXPECT_TRUE(resettled) << island.gateway_log();
  const auto failures = load.failures();
  EXPECT_TRUE(failures.empty()) << failures.size() << " failed, first: " << failures.front();
}

}  // namespace
}  // namespace isla::testing
