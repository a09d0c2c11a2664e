#pragma once
// Islands of ring or Bully electors for the tests, with their default options.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/random.hpp"
#include "election/bully.hpp"
#include "election/ring.hpp"
#include "election_cluster.hpp"

namespace isla::election::testing {

inline NodeId id(int n) {
  return "127.0.0.1:" + std::to_string(5000 + n);
}

// Nodes id(1)..id(count); priorities[i], when given, is id(i+1)'s.
inline std::vector<Candidate> island(int count, std::vector<std::uint32_t> priorities = {}) {
  std::vector<Candidate> out;
  for (int n = 1; n <= count; ++n) {
    const auto index = static_cast<std::size_t>(n - 1);
    out.push_back({id(n), index < priorities.size() ? priorities[index] : 0});
  }
  return out;
}

// How many seeds a randomized test runs: `usual`, or ISLA_ELECTION_SEEDS to look harder.
inline std::uint64_t seed_count(std::uint64_t usual) {
  const char* asked = std::getenv("ISLA_ELECTION_SEEDS");
  return asked ? std::strtoull(asked, nullptr, 10) : usual;
}

inline ClusterOptions seeded(std::uint64_t seed, NetworkFaults faults = {},
                             core::Duration tick = 1ms) {
  ClusterOptions options;
  options.seed = seed;
  options.faults = faults;
  options.tick = tick;
  return options;
}

inline ElectionCluster::Factory ring(RingOptions options = {}) {
  return [options](const Candidate& self) {
    auto mine = options;
    mine.self = self;
    return std::make_unique<RingElector>(mine);
  };
}

inline ElectionCluster::Factory bully(BullyOptions options = {}) {
  return [options](const Candidate& self) {
    auto mine = options;
    mine.self = self;
    return std::make_unique<BullyElector>(mine);
  };
}

// The island minus some nodes, as a membership layer would report it.
inline std::vector<Candidate> without(std::vector<Candidate> members, const NodeId& gone) {
  std::erase_if(members, [&](const Candidate& c) { return c.id == gone; });
  return members;
}

inline bool recorded(const std::vector<ElectionEvent>& events, EventKind kind,
                     const std::string& detail = {}) {
  for (const auto& event : events) {
    if (event.kind == kind && (detail.empty() || event.detail == detail)) return true;
  }
  return false;
}

// Runs until the live nodes agree on `leader`; how long that took, or nullopt past `limit`.
inline std::optional<core::Duration> until_leader(ElectionCluster& cluster, const NodeId& leader,
                                                  core::Duration limit) {
  return cluster.run_until([&] { return cluster.agreed_leader() == leader; }, limit);
}

// Seeded runs on a network with 10 % loss, 10 % duplicates and 1-20 ms delays: `members`
// elect `first`, `first` crashes, `next` takes over. Returns the slowest takeover; a run
// where either does not happen within 10 s, or that breaks an invariant, fails the test.
inline core::Duration worst_takeover_under_loss(const std::vector<Candidate>& members,
                                                const ElectionCluster::Factory& factory,
                                                const NodeId& first, const NodeId& next,
                                                std::uint64_t seeds) {
  using namespace std::chrono_literals;
  const NetworkFaults faults{.drop = 0.1, .duplicate = 0.1, .min_delay = 1ms, .max_delay = 20ms};
  core::Duration worst{};
  for (std::uint64_t seed = 1; seed <= seeds; ++seed) {
    ElectionCluster cluster(members, factory, seeded(seed, faults));
    cluster.start();
    if (!until_leader(cluster, first, 10s)) {
      ADD_FAILURE() << "seed " << seed << ": " << first << " was not elected";
      continue;
    }
    cluster.crash(first);
    const auto took = until_leader(cluster, next, 10s);
    if (!took) {
      ADD_FAILURE() << "seed " << seed << ": " << next << " did not take over";
      continue;
    }
    worst = std::max(worst, *took);
    EXPECT_TRUE(cluster.violations().empty()) << cluster.violations().front();
    EXPECT_TRUE(cluster.network().rejected().empty()) << cluster.network().rejected().front();
  }
  return worst;
}

// Twelve rounds of random faults on an island of `size` (crashes, restarts, partitions,
// heals, each after 100-700 ms), then every fault lifted and every node up again.
inline void run_random_faults(ElectionCluster& cluster, int size, core::Random& chaos) {
  auto any = [&] {
    return id(static_cast<int>(chaos.below(static_cast<std::uint64_t>(size))) + 1);
  };
  for (int round = 0; round < 12; ++round) {
    cluster.run_for(std::chrono::milliseconds(100 + chaos.below(600)));
    const auto victim = any();
    switch (chaos.below(4)) {
      case 0:
        cluster.crash(victim);
        break;
      case 1:
        cluster.restart(victim);
        break;
      case 2:
        cluster.partition({victim, any()});
        break;
      default:
        cluster.heal();
    }
  }
  cluster.heal();
  cluster.set_faults({});
  for (const auto& node : cluster.ids()) {
    if (!cluster.alive(node)) cluster.restart(node);
  }
}

}  // namespace isla::election::testing
