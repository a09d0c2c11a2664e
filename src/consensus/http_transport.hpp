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

struct MessageBatch;  // raft_rpc.hpp

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
  // Receivers are asked to answer in the response (raft_rpc.hpp) when the constructor was
  // given `on_answers`, which then takes those answers; with an empty `reply_key` they are
  // not checked (an island without a secret authenticates nothing).
  std::string reply_key;
};

class HttpTransport final : public Transport {
 public:
  using Unreachable = std::function<void(NodeId)>;
  using Answers = std::function<void(std::vector<Message>)>;

  HttpTransport(net::IoPool& pool, const net::HttpClient& client, HttpTransportOptions options,
                Unreachable on_unreachable, Answers on_answers = {});

  void send(std::vector<Message> messages) override;
  void set_address(NodeId node, const std::string& address) override;

  // Sends batches from `context` instead of the pool's: the Raft loop's, so that a batch
  // Raft hands over starts on its socket at once, on the same thread, and its answer wakes
  // only that thread. Each hop between threads costs a wake-up, and on a lone writer's
  // critical path they add up to more than the disk. Snapshot streams stay on the pool:
  // their chunks are large and read from disk. Call before the first send().
  void send_batches_from(asio::io_context& context) { batches_context_ = &context; }

  // The receiving side of answers in responses: between hold(peer) and release(peer),
  // messages Raft sends to `peer` wait here instead of starting a request of their own;
  // release() returns them for the response (at most one batch) and sends any rest.
  void hold(NodeId peer);
  std::vector<Message> release(NodeId peer);

  std::uint64_t batches_sent() const { return batches_sent_; }
  std::uint64_t messages_dropped() const { return messages_dropped_; }
  // Answers in responses that were not stepped: a MAC that did not fit, or not a batch.
  std::uint64_t answers_refused() const { return answers_refused_; }

 private:
  struct Peer {
    NodeId id = 0;
    asio::io_context* context = nullptr;  // its snapshot stream's, and batches' by default
    std::mutex mutex;
    std::optional<core::Endpoint> address;  // parsed once, when learned
    std::vector<Message> queue;
    std::size_t queued_bytes = 0;  // approximate_size() of what is queued
    bool sending = false;
    int held = 0;  // responses being prepared for this peer, which will carry its messages
    // The snapshot stream: one transfer at a time, on a coroutine of its own.
    bool streaming = false;
    std::optional<Message> offered;       // the latest snapshot Raft sent that is not streaming
    std::optional<TransferKey> finished;  // the last transfer that completed, and when
    std::chrono::steady_clock::time_point finished_at;
  };

  std::shared_ptr<Peer> peer(NodeId node);
  void start_draining(std::shared_ptr<Peer> peer);
  asio::awaitable<void> drain(std::shared_ptr<Peer> peer);
  // A batch's round trip; false if it did not arrive (the peer is then unreachable).
  asio::awaitable<bool> exchange(const core::Endpoint& endpoint, MessageBatch& batch);
  void take_answers(const net::HttpResponse& head, const std::string& body,
                    const MessageBatch& batch, const core::Endpoint& from);
  std::vector<Message> take_batch(Peer& peer);
  bool offer_snapshot(Peer& peer, Message message);
  void take_offer(Peer& peer, std::unique_ptr<SnapshotChunker>& transfer);
  asio::awaitable<void> stream(std::shared_ptr<Peer> peer);

  net::IoPool& pool_;
  asio::io_context* batches_context_ = nullptr;  // null: each peer's pool context
  const net::HttpClient& client_;
  HttpTransportOptions options_;
  Unreachable on_unreachable_;
  Answers on_answers_;
  std::string nonce_prefix_;
  std::atomic<std::uint64_t> nonces_{0};
  std::mutex peers_mutex_;
  std::map<NodeId, std::shared_ptr<Peer>> peers_;
  std::atomic<std::uint64_t> batches_sent_{0};
  std::atomic<std::uint64_t> messages_dropped_{0};
  std::atomic<std::uint64_t> answers_refused_{0};
};

}  // namespace isla::consensus
