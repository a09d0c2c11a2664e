#include "gateway/routing_table.hpp"

#include <gtest/gtest.h>

namespace isla::gateway {
namespace {

using namespace std::chrono_literals;

membership::Datagram announce(const std::string& node, std::vector<std::string> figures,
                              std::uint64_t incarnation = 1, bool draining = false) {
  membership::Datagram datagram;
  datagram.type = membership::DatagramType::heartbeat;
  datagram.node = node;
  datagram.role = "pieces";
  datagram.island = "local";
  datagram.incarnation = incarnation;
  datagram.figures = std::move(figures);
  datagram.draining = draining;
  return datagram;
}

std::vector<std::string> routable(const RoutingTable& table, const std::string& figure) {
  std::vector<std::string> out;
  auto snapshot = table.snapshot();
  if (auto found = snapshot->routable.find(figure); found != snapshot->routable.end()) {
    for (const auto& backend : found->second) out.push_back(backend->address);
  }
  return out;
}

class RoutingTableTest : public ::testing::Test {
 protected:
  core::FakeClock clock_;
  core::SeededRandom random_{7};
  RoutingTable table_{RoutingOptions{700ms, 5000ms, 3, 32}};
};

TEST_F(RoutingTableTest, AnnouncedServersBecomeRoutableForTheirFigures) {
  EXPECT_EQ(table_.on_announce(announce("127.0.1.11:1233", {"giraffe", "owl"}), clock_.now()),
            Announced::changed);
  EXPECT_EQ(table_.on_announce(announce("127.0.1.12:1233", {"giraffe"}), clock_.now()),
            Announced::changed);
  EXPECT_EQ(routable(table_, "giraffe").size(), 2u);
  EXPECT_EQ(routable(table_, "owl"), std::vector<std::string>{"127.0.1.11:1233"});
  EXPECT_TRUE(table_.snapshot()->known("owl"));
  EXPECT_FALSE(table_.snapshot()->known("dragon"));
}

TEST_F(RoutingTableTest, RepeatedHeartbeatsAreNotChanges) {
  table_.on_announce(announce("127.0.1.11:1233", {"giraffe"}), clock_.now());
  clock_.advance(200ms);
  EXPECT_EQ(table_.on_announce(announce("127.0.1.11:1233", {"giraffe"}), clock_.now()),
            Announced::unchanged);
}

TEST_F(RoutingTableTest, SilentServerExpiresButItsFiguresStayKnown) {
  table_.on_announce(announce("127.0.1.11:1233", {"owl"}), clock_.now());
  clock_.advance(600ms);
  EXPECT_FALSE(table_.expire(clock_.now()));
  clock_.advance(200ms);
  EXPECT_TRUE(table_.expire(clock_.now()));
  EXPECT_TRUE(routable(table_, "owl").empty());
  EXPECT_TRUE(table_.snapshot()->known("owl"));  // 503, not 404
  ASSERT_EQ(table_.departed(clock_.now()).size(), 1u);
  EXPECT_EQ(table_.departed(clock_.now())[0].reason, "timeout");
  EXPECT_TRUE(table_.servers(clock_.now()).empty());
}

membership::Datagram with_seq(membership::Datagram datagram, std::uint64_t seq) {
  datagram.seq = seq;
  return datagram;
}

membership::Datagram bye_from(const std::string& node, std::uint64_t incarnation,
                              std::uint64_t seq) {
  auto bye = with_seq(announce(node, {}, incarnation), seq);
  bye.type = membership::DatagramType::bye;
  return bye;
}

TEST_F(RoutingTableTest, ByeRemovesAtOnceAndALateHeartbeatDoesNotResurrect) {
  table_.on_announce(with_seq(announce("127.0.1.11:1233", {"owl"}, 5), 3), clock_.now());
  EXPECT_TRUE(table_.on_bye(bye_from("127.0.1.11:1233", 5, 5), clock_.now()));
  // Sent before the bye, overtaken by it on the way.
  EXPECT_EQ(table_.on_announce(with_seq(announce("127.0.1.11:1233", {"owl"}, 5), 4), clock_.now()),
            Announced::rejected);
  EXPECT_TRUE(routable(table_, "owl").empty());
  // The same server restarted: a new incarnation is welcome.
  EXPECT_EQ(table_.on_announce(announce("127.0.1.11:1233", {"owl"}, 6), clock_.now()),
            Announced::changed);
  EXPECT_EQ(routable(table_, "owl").size(), 1u);
}

TEST_F(RoutingTableTest, ByeCountsOnlyForTheCurrentIncarnation) {
  table_.on_announce(with_seq(announce("127.0.1.11:1233", {"owl"}, 5), 3), clock_.now());
  EXPECT_FALSE(table_.on_bye(bye_from("127.0.1.11:1233", 4, 9), clock_.now()));
  EXPECT_FALSE(table_.on_bye(bye_from("127.0.1.11:1233", 6, 1), clock_.now()));
  EXPECT_FALSE(table_.on_bye(bye_from("127.0.1.12:1233", 5, 9), clock_.now()));
  EXPECT_EQ(routable(table_, "owl").size(), 1u);
}

TEST_F(RoutingTableTest, ADepartedRecordNeverKeepsALiveServerOut) {
  table_.on_announce(with_seq(announce("127.0.1.11:1233", {"owl"}, 5), 3), clock_.now());
  ASSERT_TRUE(table_.on_bye(bye_from("127.0.1.11:1233", 5, 4), clock_.now()));
  // Announced after the bye in the same incarnation: the sender is alive and says so.
  EXPECT_EQ(table_.on_announce(with_seq(announce("127.0.1.11:1233", {"owl"}, 5), 5), clock_.now()),
            Announced::changed);
  EXPECT_EQ(routable(table_, "owl").size(), 1u);
  EXPECT_TRUE(table_.departed(clock_.now()).empty());
}

TEST_F(RoutingTableTest, AByeWithAForgedHugeSeqBlocksOnlyForAHeartbeatTimeout) {
  table_.on_announce(with_seq(announce("127.0.1.11:1233", {"owl"}, 5), 3), clock_.now());
  ASSERT_TRUE(table_.on_bye(bye_from("127.0.1.11:1233", 5, UINT64_MAX), clock_.now()));
  clock_.advance(200ms);
  EXPECT_EQ(table_.on_announce(with_seq(announce("127.0.1.11:1233", {"owl"}, 5), 4), clock_.now()),
            Announced::rejected);
  clock_.advance(600ms);
  EXPECT_EQ(table_.on_announce(with_seq(announce("127.0.1.11:1233", {"owl"}, 5), 8), clock_.now()),
            Announced::changed);
  EXPECT_EQ(routable(table_, "owl").size(), 1u);
}

TEST_F(RoutingTableTest, FiguresNobodyAnnouncesAreForgottenAfterTheirTtl) {
  RoutingTable table{RoutingOptions{700ms, 5000ms, 3, 32, 3000ms}};
  table.on_announce(announce("127.0.1.11:1233", {"owl", "giraffe"}), clock_.now());
  table.on_announce(announce("127.0.1.12:1233", {"made-up-1", "made-up-2"}), clock_.now());
  // The first server keeps heartbeating; the second said its names once and went silent.
  for (int i = 0; i < 15; ++i) {
    clock_.advance(200ms);
    table.on_announce(announce("127.0.1.11:1233", {"owl", "giraffe"}), clock_.now());
    table.expire(clock_.now());
  }
  EXPECT_TRUE(table.snapshot()->known("made-up-1"));  // gone for 3 s: still a 503
  clock_.advance(200ms);
  table.on_announce(announce("127.0.1.11:1233", {"owl", "giraffe"}), clock_.now());
  EXPECT_TRUE(table.expire(clock_.now()));
  EXPECT_FALSE(table.snapshot()->known("made-up-1"));
  EXPECT_FALSE(table.snapshot()->known("made-up-2"));
  EXPECT_EQ(table.snapshot()->known_figures, (std::set<std::string>{"giraffe", "owl"}));
  // A figure that a live server drops from its list ages out too.
  for (int i = 0; i < 16; ++i) {
    clock_.advance(200ms);
    table.on_announce(announce("127.0.1.11:1233", {"owl"}), clock_.now());
    table.expire(clock_.now());
  }
  EXPECT_EQ(table.snapshot()->known_figures, (std::set<std::string>{"owl"}));
}

TEST_F(RoutingTableTest, ConnectFailureEjectsAtOnceUntilTheEjectionEnds) {
  table_.on_announce(announce("127.0.1.11:1233", {"owl"}), clock_.now());
  EXPECT_TRUE(table_.on_failure("127.0.1.11:1233", FailureKind::connect, clock_.now()));
  EXPECT_TRUE(routable(table_, "owl").empty());
  EXPECT_EQ(table_.servers(clock_.now())[0].state, ServerState::ejected);
  // Heartbeats keep it in the table but not in routing while ejected.
  for (int i = 0; i < 30; ++i) {
    clock_.advance(200ms);
    table_.on_announce(announce("127.0.1.11:1233", {"owl"}), clock_.now());
    table_.expire(clock_.now());
  }
  EXPECT_EQ(routable(table_, "owl").size(), 1u);
}

TEST_F(RoutingTableTest, OtherFailuresEjectOnlyWhenConsecutive) {
  table_.on_announce(announce("127.0.1.11:1233", {"owl"}), clock_.now());
  EXPECT_FALSE(table_.on_failure("127.0.1.11:1233", FailureKind::other, clock_.now()));
  EXPECT_FALSE(table_.on_failure("127.0.1.11:1233", FailureKind::other, clock_.now()));
  EXPECT_TRUE(table_.on_failure("127.0.1.11:1233", FailureKind::other, clock_.now()));
  EXPECT_TRUE(routable(table_, "owl").empty());
}

TEST_F(RoutingTableTest, RestartLiftsEjection) {
  table_.on_announce(announce("127.0.1.11:1233", {"owl"}, 1), clock_.now());
  table_.on_failure("127.0.1.11:1233", FailureKind::connect, clock_.now());
  EXPECT_EQ(table_.on_announce(announce("127.0.1.11:1233", {"owl"}, 2), clock_.now()),
            Announced::changed);
  EXPECT_EQ(routable(table_, "owl").size(), 1u);
}

TEST_F(RoutingTableTest, DrainingServersGetNoNewRequests) {
  table_.on_announce(announce("127.0.1.11:1233", {"owl"}), clock_.now());
  EXPECT_EQ(table_.on_announce(announce("127.0.1.11:1233", {"owl"}, 1, true), clock_.now()),
            Announced::changed);
  EXPECT_TRUE(routable(table_, "owl").empty());
  EXPECT_EQ(table_.servers(clock_.now())[0].state, ServerState::draining);
}

TEST_F(RoutingTableTest, StaleIncarnationIsIgnored) {
  table_.on_announce(announce("127.0.1.11:1233", {"owl"}, 9), clock_.now());
  EXPECT_EQ(table_.on_announce(announce("127.0.1.11:1233", {"dragon"}, 8), clock_.now()),
            Announced::rejected);
  EXPECT_FALSE(table_.snapshot()->known("dragon"));
}

TEST_F(RoutingTableTest, PickPrefersFewestOutstandingAndSkipsTried) {
  table_.on_announce(announce("127.0.1.11:1233", {"owl"}), clock_.now());
  table_.on_announce(announce("127.0.1.12:1233", {"owl"}), clock_.now());
  auto snapshot = table_.snapshot();
  auto& replicas = snapshot->routable.at("owl");
  replicas[0]->outstanding = 5;
  for (int i = 0; i < 20; ++i) {
    EXPECT_EQ(snapshot->pick("owl", {}, random_)->address, replicas[1]->address);
  }
  EXPECT_EQ(snapshot->pick("owl", {replicas[1].get()}, random_)->address, replicas[0]->address);
  EXPECT_EQ(snapshot->pick("owl", {replicas[0].get(), replicas[1].get()}, random_), nullptr);
  EXPECT_EQ(snapshot->pick("dragon", {}, random_), nullptr);
}

TEST_F(RoutingTableTest, PickSpreadsTiesOverReplicas) {
  table_.on_announce(announce("127.0.1.11:1233", {"owl"}), clock_.now());
  table_.on_announce(announce("127.0.1.12:1233", {"owl"}), clock_.now());
  table_.on_announce(announce("127.0.1.13:1233", {"owl"}), clock_.now());
  auto snapshot = table_.snapshot();
  std::map<std::string, int> chosen;
  for (int i = 0; i < 3000; ++i) ++chosen[snapshot->pick("owl", {}, random_)->address];
  ASSERT_EQ(chosen.size(), 3u);
  for (const auto& [address, count] : chosen) EXPECT_GT(count, 800) << address;
}

// A partitioned catalogue (issue 14): the table computes owners from its live members.
class PartitionedTableTest : public ::testing::Test {
 protected:
  static RoutingOptions options() {
    RoutingOptions options{700ms, 5000ms, 3, 32};
    options.catalogue = {"giraffe", "owl", "lion", "frog", "robot"};
    options.placement.replicas = 2;
    return options;
  }
  void join(const std::string& server, std::vector<std::string> figures = {}) {
    table_.on_announce(announce(server, std::move(figures)), clock_.now());
  }

  core::FakeClock clock_;
  core::SeededRandom random_{7};
  RoutingTable table_{options()};
};

TEST_F(PartitionedTableTest, CatalogueFiguresAreKnownAndOwnedBeforeAnyoneHoldsThem) {
  join("127.0.1.11:1233");
  join("127.0.1.12:1233");
  join("127.0.1.13:1233");
  const auto snapshot = table_.snapshot();
  EXPECT_TRUE(snapshot->known("giraffe"));
  EXPECT_FALSE(snapshot->known("dodo"));
  for (const auto& figure : options().catalogue) {
    EXPECT_EQ(snapshot->owners.at(figure).size(), 2u) << figure;
    // Every server is told to hold the figures it owns.
    for (const auto& owner : snapshot->owners.at(figure)) {
      const auto assigned = table_.assignment(owner);
      ASSERT_TRUE(assigned);
      EXPECT_NE(std::find(assigned->begin(), assigned->end(), figure), assigned->end());
    }
  }
}

TEST_F(PartitionedTableTest, ADrainingServerOwnsNothingButKeepsItsFiguresUntilOwnersHoldThem) {
  join("127.0.1.11:1233");
  join("127.0.1.12:1233");
  join("127.0.1.13:1233");
  const auto owners = table_.snapshot()->owners;
  // Everyone holds exactly its share.
  std::map<std::string, std::vector<std::string>> share;
  for (const auto& [figure, figure_owners] : owners) {
    for (const auto& owner : figure_owners) share[owner].push_back(figure);
  }
  for (const auto& [server, figures] : share) join(server, figures);
  const std::string leaving = share.begin()->first;
  table_.on_announce(announce(leaving, share[leaving], 1, true), clock_.now());
  const auto after = table_.snapshot();
  for (const auto& [figure, figure_owners] : after->owners) {
    EXPECT_EQ(std::find(figure_owners.begin(), figure_owners.end(), leaving), figure_owners.end());
    EXPECT_EQ(figure_owners.size(), 2u);
  }
  // A server that stayed but must now take one of the leaver's figures is told to.
  for (const auto& figure : share[leaving]) {
    for (const auto& owner : after->owners.at(figure)) {
      const auto assigned = table_.assignment(owner);
      EXPECT_NE(std::find(assigned->begin(), assigned->end(), figure), assigned->end());
    }
  }
}

TEST_F(PartitionedTableTest, RequestsGoToOwnersThatHoldTheFigureBeforeFormerHolders) {
  join("127.0.1.11:1233");
  join("127.0.1.12:1233");
  join("127.0.1.13:1233");
  auto owners = table_.snapshot()->owners.at("giraffe");
  std::string other;
  for (const auto& server : {"127.0.1.11:1233", "127.0.1.12:1233", "127.0.1.13:1233"}) {
    if (std::find(owners.begin(), owners.end(), server) == owners.end()) other = server;
  }
  // The non-owner still holds giraffe, one owner has it too: the owner gets the requests.
  join(other, {"giraffe"});
  join(owners[0], {"giraffe"});
  for (int i = 0; i < 20; ++i) {
    EXPECT_EQ(table_.snapshot()->pick("giraffe", {}, random_)->address, owners[0]);
  }
  // ... and the former holder once the owner has been tried.
  const auto first = table_.snapshot()->pick("giraffe", {}, random_);
  EXPECT_EQ(table_.snapshot()->pick("giraffe", {first.get()}, random_)->address, other);
  // The non-owner keeps giraffe until both owners serve it.
  auto assigned = table_.assignment(other);
  EXPECT_NE(std::find(assigned->begin(), assigned->end(), "giraffe"), assigned->end());
  join(owners[1], {"giraffe"});
  assigned = table_.assignment(other);
  EXPECT_EQ(std::find(assigned->begin(), assigned->end(), "giraffe"), assigned->end());
}

TEST_F(PartitionedTableTest, AnUnpartitionedTableAssignsNothing) {
  RoutingTable plain{RoutingOptions{700ms, 5000ms, 3, 32}};
  plain.on_announce(announce("127.0.1.11:1233", {"giraffe"}), clock_.now());
  EXPECT_FALSE(plain.assignment("127.0.1.11:1233"));
  EXPECT_TRUE(plain.snapshot()->owners.empty());
}

}  // namespace
}  // namespace isla::gateway
