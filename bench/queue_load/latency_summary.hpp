#pragma once
// Percentiles of a run's latencies, for the queue benchmarks' one-line JSON reports.
#include <vector>

namespace isla::bench {

struct LatencySummary {
  std::size_t count = 0;
  double p50_ms = 0;
  double p99_ms = 0;
  double max_ms = 0;
};

// Nearest-rank percentiles of `samples_ms` (reordered in place); zeros when it is empty.
LatencySummary summarize(std::vector<double>& samples_ms);

}  // namespace isla::bench
