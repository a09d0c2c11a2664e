// Issue 11's figures for the failure detector, in simulation: a 5-gateway island at 0, 5 and
// 10 % datagram loss (each datagram delayed uniformly 0-20 ms, so reordered), with isla's
// defaults and, as the comparator, hashicorp/memberlist's (probe every 1 s, probe timeout
// 500 ms, 3 relays, suspicion multiplier 4, max multiplier 6) run by the same core.
//   detection: a node is crashed (kill -9: silent at once) at a random moment of a converged
//              island; the time until EVERY other node holds it dead. p50/p99/max over seeds.
//   false deaths: 60 s without any crash; how many times anyone declared a live node dead.
// Usage: swim_sim [detection seeds, default 1000] [60 s runs per cell, default 20]
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "support/swim_island.hpp"

namespace {

using isla::membership::MemberState;
using isla::membership::SwimOptions;
using isla::testing::SwimIsland;
using namespace std::chrono_literals;

struct Config {
  const char* name;
  SwimOptions options;
};

SwimOptions memberlist_defaults() {
  SwimOptions options;
  options.probe_interval = 1000ms;
  options.probe_timeout = 500ms;
  options.indirect_probes = 3;
  options.suspicion_multiplier = 4;
  options.suspicion_max_multiplier = 6;
  options.suspicion_confirmations = 2;  // memberlist: SuspicionMult - 2
  options.gossip_retransmit_multiplier = 4;
  return options;
}

struct Detection {
  std::vector<double> ms;
  int undetected = 0;
};

Detection measure_detection(const SwimOptions& options, double loss, int seeds) {
  Detection out;
  for (int seed = 1; seed <= seeds; ++seed) {
    SwimIsland::Options island_options;
    island_options.seed = static_cast<std::uint64_t>(seed);
    island_options.swim = options;
    island_options.faults.loss = loss;
    SwimIsland island(island_options);
    if (!island.run_until([&] { return island.converged(); }, 30s)) {
      ++out.undetected;
      continue;
    }
    // Crash at a random phase of everyone's probe rounds.
    const auto offset = std::chrono::milliseconds((static_cast<std::uint64_t>(seed) * 7919) %
                                                  (options.probe_interval.count() * 5));
    island.run_for(1s + offset);
    const std::size_t victim = static_cast<std::size_t>(seed) % island.size();
    island.crash(victim);
    auto took =
        island.run_until([&] { return island.everyone_sees(victim, MemberState::dead); }, 120s);
    if (!took) {
      ++out.undetected;
      continue;
    }
    out.ms.push_back(std::chrono::duration<double, std::milli>(*took).count());
  }
  std::sort(out.ms.begin(), out.ms.end());
  return out;
}

double percentile(const std::vector<double>& sorted, double p) {
  if (sorted.empty()) return 0;
  const auto rank = static_cast<std::size_t>(p * static_cast<double>(sorted.size() - 1) + 0.5);
  return sorted[std::min(rank, sorted.size() - 1)];
}

struct Stability {
  std::size_t false_deaths = 0;
  std::size_t suspicions = 0;
  std::uint64_t datagrams = 0;
  std::uint64_t too_large = 0;
};

Stability measure_stability(const SwimOptions& options, double loss, int runs) {
  Stability out;
  for (int run = 1; run <= runs; ++run) {
    SwimIsland::Options island_options;
    island_options.seed = 100'000 + static_cast<std::uint64_t>(run);
    island_options.swim = options;
    island_options.faults.loss = loss;
    SwimIsland island(island_options);
    island.run_for(60s);
    out.false_deaths += island.false_deaths();
    out.suspicions += island.suspicions();
    out.datagrams += island.datagrams_sent();
    out.too_large += island.datagrams_too_large();
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  const int seeds = argc > 1 ? std::atoi(argv[1]) : 1000;
  const int runs = argc > 2 ? std::atoi(argv[2]) : 20;
  char host[256] = "?";
  gethostname(host, sizeof host);
  std::printf("swim_sim on %s: 5 gateways, delay 0-20 ms per datagram, node ticks every 10 ms\n",
              host);
  std::printf("detection: %d crashes per cell; false deaths: %d runs of 60 s per cell\n\n", seeds,
              runs);
  std::printf("%-10s %5s | %9s %9s %9s %6s | %11s %11s %12s\n", "config", "loss", "p50 ms",
              "p99 ms", "max ms", "missed", "false dead", "suspect/min", "datagrams/s");
  const Config configs[] = {{"isla", SwimOptions{}}, {"memberlist", memberlist_defaults()}};
  for (const auto& config : configs) {
    for (double loss : {0.0, 0.05, 0.10}) {
      const auto detection = measure_detection(config.options, loss, seeds);
      const auto stability = measure_stability(config.options, loss, runs);
      const double minutes = runs;
      std::printf("%-10s %4.0f%% | %9.0f %9.0f %9.0f %6d | %11zu %11.2f %12.0f\n", config.name,
                  loss * 100, percentile(detection.ms, 0.50), percentile(detection.ms, 0.99),
                  detection.ms.empty() ? 0.0 : detection.ms.back(), detection.undetected,
                  stability.false_deaths, static_cast<double>(stability.suspicions) / minutes,
                  static_cast<double>(stability.datagrams) / (minutes * 60));
      if (stability.too_large != 0) {
        std::printf("  (%llu datagrams did not fit in 1200 bytes)\n",
                    static_cast<unsigned long long>(stability.too_large));
      }
      std::fflush(stdout);
    }
  }
  std::printf(
      "\nmissed: crashes not seen dead by everyone within 120 s. false dead: deaths declared of"
      " a live node, summed over the runs. suspect/min: suspicion events per simulated minute,"
      " counted at every node that holds one. datagrams/s: sent by the whole island.\n");
  return 0;
}
