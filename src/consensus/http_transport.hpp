#pragma once
// Raft's Transport over isla's RPC layer: per peer, one request in flight at a time carrying
// every message queued for that peer since the last one (batching under load, and the
// order Raft sent them in). A peer that cannot be reached is reported to Raft, which slows
// its replication down to probes until it answers again. Snapshots do not go in batches:
// each peer has a stream of its own beside them (snapshot_stream.hpp), one chunk in flight,
// so that heartbeats and appends are never stuck behind a snapshot of hundreds of MiB.
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>

#include "core/endpoint.hpp"

#include "consensus/raft_node.hpp"
#include "consensus/snapshot_chunker.hpp"
#include "net/http_client.hpp"
#include "net/io_pool.hpp"

namespace isla::consensus {

struct HttpTransportOptions {
  std::size_t max_batch_bytes = 4 * 1024 * 1024;  // beyond this a batch is split
  std::size_t max_queued_messages = 10'000;       // per peer; the oldest are dropped first
  std::size_t max_queued_bytes = 64u << 20;       // per peer, the same way
  std::chrono::milliseconds request_timeout{5'000};
  std::uint64_t cluster_id = 0;  // sent with every batch
  std::size_t snapshot_chunk_bytes = 1024 * 1024;
  // Chunks in a row that fail or are refused before a transfer is given up (each waits a
  // backoff first); Raft then sends the snapshot again, and the receiver's offset resumes it.
  int snapshot_max_stalls = 8;
  // After a transfer completes, Raft's further copies of that snapshot are dropped for this
  // long: they were sent before the receiver's Raft could answer it. Should the answer be
  // lost, Raft's copies after this go through.
  std::chrono::milliseconds snapshot_resend_guard{10'000};
  std::shared_ptr<SnapshotStreamObserver> snapshot_observer;  // optional
};

class HttpTransport final : public Transport {
 public:
  using Unreachable = std::function<void(NodeId)>;

  HttpTransport(net::IoPool& pool, const net::HttpClient& client, HttpTransportOptions options,
                Unreachable on_unreachable);

  void send(std::vector<Message> messages) override;
  void set_address(NodeId node, const std::string& address) override;

  std::uint64_t batches_sent() const { return batches_sent_; }
  std::uint64_t messages_dropped() const { return messages_dropped_; }

 private:
  struct Peer {
    NodeId id = 0;
    asio::io_context* context = nullptr;
    std::mutex mutex;
    std::optional<core::Endpoint> address;  // parsed once, when learned
    std::vector<Message> queue;
    std::size_t queued_bytes = 0;  // approximate_size() of what is queued
    bool sending = false;
    // The snapshot stream: one transfer at a time, on a coroutine of its own.
    bool streaming = false;
    std::optional<Message> offered;       // the latest snapshot Raft sent that is not streaming
    std::optional<TransferKey> finished;  // the last transfer that completed, and when
    std::chrono::steady_clock::time_point finished_at;
  };

  std::shared_ptr<Peer> peer(NodeId node);
  asio::awaitable<void> drain(std::shared_ptr<Peer> peer);
  std::vector<Message> take_batch(Peer& peer);
  bool offer_snapshot(Peer& peer, Message message);
  void take_offer(Peer& peer, std::unique_ptr<SnapshotChunker>& transfer);
  asio::awaitable<void> stream(std::shared_ptr<Peer> peer);

  net::IoPool& pool_;
  const net::HttpClient& client_;
  HttpTransportOptions options_;
  Unreachable on_unreachable_;
  std::mutex peers_mutex_;
  std::map<NodeId, std::shared_ptr<Peer>> peers_;
  std::atomic<std::uint64_t> batches_sent_{0};
  std::atomic<std::uint64_t> messages_dropped_{0};
};

}  // namespace isla::consensus
