#pragma once
// Islands of ring or Bully electors for the tests, with their default options.
#include <chrono>
#include <cstdlib>
#include <memory>
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
