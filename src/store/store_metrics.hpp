#pragma once
// The island store's series on /metrics (docs/operations.md, "Store metrics"). The Raft
// driver counts since start (NodeStatus); update() adds what each count gained since the
// previous call to a prometheus counter, so the exported counters only ever rise.
#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <functional>
#include <mutex>

#include "consensus/raft_driver.hpp"

namespace isla::store {

class StoreMetrics {
 public:
  explicit StoreMetrics(prometheus::Registry& registry);

  // For RaftStoreOptions::wal.on_sync: observes each WAL fsync's duration.
  std::function<void(double seconds)> fsync_observer();
  // Thread-safe; call before each scrape.
  void update(const consensus::NodeStatus& status, std::uint64_t messages_dropped);

 private:
  prometheus::Gauge& term_;
  prometheus::Gauge& is_leader_;
  prometheus::Gauge& commit_;
  prometheus::Gauge& applied_;
  prometheus::Gauge& waiters_;
  prometheus::Gauge& last_snapshot_bytes_;
  prometheus::Gauge& last_snapshot_seconds_;
  prometheus::Counter& leader_changes_;
  prometheus::Counter& read_rounds_;
  prometheus::Counter& read_retries_;
  prometheus::Counter& waiters_expired_;
  prometheus::Counter& messages_dropped_;
  prometheus::Histogram& fsync_;
  prometheus::Counter* proposals_accepted_ = nullptr;  // labelled series of one family each
  prometheus::Counter* proposals_refused_ = nullptr;
  prometheus::Counter* snapshots_taken_ = nullptr;
  prometheus::Counter* snapshots_installed_ = nullptr;

  std::mutex mutex_;
  consensus::NodeStatus seen_;  // the counts at the previous update
  std::uint64_t dropped_seen_ = 0;
};

}  // namespace isla::store
