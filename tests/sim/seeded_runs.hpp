#pragma once
// What every seeded simulation does around its simulate(seed): run a shard of the seeds
// (ctest runs the shards in parallel), report each failing seed with the command that replays
// it, stop a shard after three failures; and check a history's linearizability.
#include <gtest/gtest.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "sim/linearizability.hpp"

namespace isla::sim {

// Runs seeds shard+1, shard+1+shards, ... up to `seeds`; `simulate` returns the problems of
// one seed (and may count what it covered).
inline void run_seed_shard(int shard, int shards, int seeds,
                           const std::function<std::vector<std::string>(std::uint64_t)>& simulate,
                           const std::string& replay_binary, const std::string& replay_test) {
  int failures = 0;
  for (int seed = 1 + shard; seed <= seeds && failures < 3; seed += shards) {
    const auto problems = simulate(static_cast<std::uint64_t>(seed));
    if (problems.empty()) continue;
    ++failures;
    ADD_FAILURE() << "seed " << seed << " failed: " << problems.front()
                  << "\n  replay: ISLA_SIM_SEED=" << seed << " build/tests/sim/" << replay_binary
                  << " --gtest_filter=" << replay_test;
  }
}

// The problem a history's check found, if any.
inline std::optional<std::string> linearizability_problem(const std::vector<Operation>& history) {
  auto verdict = check_kv_history(history, std::chrono::seconds(60));
  if (verdict.verdict == CheckResult::Verdict::ok) return std::nullopt;
  std::ostringstream text;
  text << "history of " << history.size() << " operations: " << verdict.verdict << ": "
       << verdict.explanation;
  return text.str();
}

}  // namespace isla::sim
