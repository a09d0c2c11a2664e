#include "latency_summary.hpp"

#include <algorithm>
#include <cmath>

namespace isla::bench {

namespace {

// The smallest sample with at least `fraction` of the samples at or below it.
double nearest_rank(const std::vector<double>& sorted, double fraction) {
  const auto rank =
      static_cast<std::size_t>(std::ceil(fraction * static_cast<double>(sorted.size())));
  return sorted[std::clamp<std::size_t>(rank, 1, sorted.size()) - 1];
}

}  // namespace

LatencySummary summarize(std::vector<double>& samples_ms) {
  LatencySummary out;
  out.count = samples_ms.size();
  if (samples_ms.empty()) return out;
  std::sort(samples_ms.begin(), samples_ms.end());
  out.p50_ms = nearest_rank(samples_ms, 0.50);
  out.p99_ms = nearest_rank(samples_ms, 0.99);
  out.max_ms = samples_ms.back();
  return out;
}

}  // namespace isla::bench
