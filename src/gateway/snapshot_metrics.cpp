#include "gateway/snapshot_metrics.hpp"

#include <prometheus/counter.h>

namespace isla::gateway {

namespace {

class SnapshotStreamMetrics final : public consensus::SnapshotStreamObserver {
 public:
  explicit SnapshotStreamMetrics(prometheus::Registry& registry)
      : chunks_(prometheus::BuildCounter()
                    .Name("isla_store_snapshot_chunks_total")
                    .Help("Chunks of streamed store snapshots taken by the receiver, by direction")
                    .Register(registry)),
        bytes_(prometheus::BuildCounter()
                   .Name("isla_store_snapshot_bytes_total")
                   .Help("Bytes of streamed store snapshots taken by the receiver, by direction")
                   .Register(registry)),
        snapshots_(prometheus::BuildCounter()
                       .Name("isla_store_snapshots_total")
                       .Help("Streamed store snapshots that completed or were abandoned, by "
                             "direction")
                       .Register(registry)),
        chunks_sent_(chunks_.Add({{"direction", "sent"}})),
        chunks_received_(chunks_.Add({{"direction", "received"}})),
        bytes_sent_(bytes_.Add({{"direction", "sent"}})),
        bytes_received_(bytes_.Add({{"direction", "received"}})),
        sent_complete_(snapshots_.Add({{"direction", "sent"}, {"outcome", "complete"}})),
        sent_abandoned_(snapshots_.Add({{"direction", "sent"}, {"outcome", "abandoned"}})),
        received_complete_(snapshots_.Add({{"direction", "received"}, {"outcome", "complete"}})),
        received_abandoned_(snapshots_.Add({{"direction", "received"}, {"outcome", "abandoned"}})) {
  }

  void on_chunk_sent(std::size_t bytes) override {
    chunks_sent_.Increment();
    bytes_sent_.Increment(static_cast<double>(bytes));
  }
  void on_chunk_received(std::size_t bytes) override {
    chunks_received_.Increment();
    bytes_received_.Increment(static_cast<double>(bytes));
  }
  void on_snapshot_sent(bool complete) override {
    (complete ? sent_complete_ : sent_abandoned_).Increment();
  }
  void on_snapshot_received(bool complete) override {
    (complete ? received_complete_ : received_abandoned_).Increment();
  }

 private:
  prometheus::Family<prometheus::Counter>& chunks_;
  prometheus::Family<prometheus::Counter>& bytes_;
  prometheus::Family<prometheus::Counter>& snapshots_;
  prometheus::Counter& chunks_sent_;
  prometheus::Counter& chunks_received_;
  prometheus::Counter& bytes_sent_;
  prometheus::Counter& bytes_received_;
  prometheus::Counter& sent_complete_;
  prometheus::Counter& sent_abandoned_;
  prometheus::Counter& received_complete_;
  prometheus::Counter& received_abandoned_;
};

}  // namespace

std::shared_ptr<consensus::SnapshotStreamObserver> snapshot_stream_metrics(
    prometheus::Registry& registry) {
  return std::make_shared<SnapshotStreamMetrics>(registry);
}

}  // namespace isla::gateway
