#pragma once
// The island store's streamed snapshots in /metrics, in both directions:
//   isla_store_snapshot_chunks_total{direction="sent|received"}  chunks the receiver took
//   isla_store_snapshot_bytes_total{direction="sent|received"}   their bytes
//   isla_store_snapshots_total{direction, outcome="complete|abandoned"}
// A replica that caught up from a snapshot shows it in its received counters.
#include <prometheus/registry.h>

#include <memory>

#include "consensus/snapshot_stream.hpp"

namespace isla::gateway {

std::shared_ptr<consensus::SnapshotStreamObserver> snapshot_stream_metrics(
    prometheus::Registry& registry);

}  // namespace isla::gateway
