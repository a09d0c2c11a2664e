#include "store/store_metrics.hpp"

namespace isla::store {

namespace {

// From a fast NVMe flush (tens of µs) to a disk in trouble (seconds).
const prometheus::Histogram::BucketBoundaries kFsyncBuckets = {
    0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01,
    0.025,   0.05,   0.1,     0.25,   0.5,   1.0,    2.5,   5.0};

prometheus::Gauge& gauge(prometheus::Registry& registry, const std::string& name,
                         const std::string& help) {
  return prometheus::BuildGauge().Name(name).Help(help).Register(registry).Add({});
}

prometheus::Counter& counter(prometheus::Registry& registry, const std::string& name,
                             const std::string& help) {
  return prometheus::BuildCounter().Name(name).Help(help).Register(registry).Add({});
}

// Adds what `now` gained over `seen` (the driver's counts never go down).
void advance(prometheus::Counter& counter, std::uint64_t now, std::uint64_t seen) {
  if (now > seen) counter.Increment(static_cast<double>(now - seen));
}

}  // namespace

StoreMetrics::StoreMetrics(prometheus::Registry& registry)
    : term_(gauge(registry, "isla_store_term", "This replica's Raft term")),
      is_leader_(gauge(registry, "isla_store_is_leader", "1 while this replica leads the store")),
      commit_(gauge(registry, "isla_store_commit_index", "The highest log index known committed")),
      applied_(gauge(registry, "isla_store_applied_index",
                     "The highest log index applied to this replica's key-value state")),
      waiters_(gauge(registry, "isla_store_waiters",
                     "Proposals, reads and watches waiting on this replica's Raft loop")),
      last_snapshot_bytes_(gauge(registry, "isla_store_last_snapshot_bytes",
                                 "Size of the last snapshot this replica took")),
      last_snapshot_seconds_(gauge(registry, "isla_store_last_snapshot_seconds",
                                   "How long the last snapshot this replica took lasted")),
      leader_changes_(counter(registry, "isla_store_leader_changes_total",
                              "Times this replica saw a new leader")),
      read_rounds_(counter(registry, "isla_store_read_index_rounds_total",
                           "ReadIndex rounds this replica started for linearizable reads")),
      read_retries_(counter(registry, "isla_store_read_index_retries_total",
                            "ReadIndex rounds asked again after going unanswered")),
      waiters_expired_(counter(registry, "isla_store_waiters_expired_total",
                               "Proposals and reads given up at their deadline")),
      messages_dropped_(
          counter(registry, "isla_store_transport_messages_dropped_total",
                  "Raft messages not delivered: a peer's queue overflowed, its address was "
                  "unknown, or the send failed")),
      fsync_(prometheus::BuildHistogram()
                 .Name("isla_store_wal_fsync_seconds")
                 .Help("Time to write and fsync each batch of Raft log records")
                 .Register(registry)
                 .Add({}, kFsyncBuckets)) {
  auto& proposals = prometheus::BuildCounter()
                        .Name("isla_store_proposals_total")
                        .Help(
                            "Writes proposed on this replica: accepted into the leader's log, "
                            "or refused (not the leader, a leadership transfer under way)")
                        .Register(registry);
  proposals_accepted_ = &proposals.Add({{"outcome", "accepted"}});
  proposals_refused_ = &proposals.Add({{"outcome", "refused"}});
  auto& snapshots = prometheus::BuildCounter()
                        .Name("isla_store_raft_snapshots_total")
                        .Help("Snapshots this replica took, or installed from the leader")
                        .Register(registry);
  snapshots_taken_ = &snapshots.Add({{"kind", "taken"}});
  snapshots_installed_ = &snapshots.Add({{"kind", "installed"}});
}

std::function<void(double)> StoreMetrics::fsync_observer() {
  return [this](double seconds) { fsync_.Observe(seconds); };
}

void StoreMetrics::update(const consensus::NodeStatus& status, std::uint64_t messages_dropped) {
  std::lock_guard lock(mutex_);
  term_.Set(static_cast<double>(status.term));
  is_leader_.Set(status.role == consensus::Role::leader ? 1 : 0);
  commit_.Set(static_cast<double>(status.commit));
  applied_.Set(static_cast<double>(status.applied));
  waiters_.Set(static_cast<double>(status.waiters));
  last_snapshot_bytes_.Set(static_cast<double>(status.last_snapshot_bytes));
  last_snapshot_seconds_.Set(status.last_snapshot_seconds);
  advance(*proposals_accepted_, status.proposals - status.proposals_failed,
          seen_.proposals - seen_.proposals_failed);
  advance(*proposals_refused_, status.proposals_failed, seen_.proposals_failed);
  advance(leader_changes_, status.leader_changes, seen_.leader_changes);
  advance(read_rounds_, status.read_rounds, seen_.read_rounds);
  advance(read_retries_, status.read_retries, seen_.read_retries);
  advance(waiters_expired_, status.waiters_expired, seen_.waiters_expired);
  advance(*snapshots_taken_, status.snapshots_taken, seen_.snapshots_taken);
  advance(*snapshots_installed_, status.snapshots_installed, seen_.snapshots_installed);
  advance(messages_dropped_, messages_dropped, dropped_seen_);
  seen_ = status;
  dropped_seen_ = messages_dropped;
}

}  // namespace isla::store
