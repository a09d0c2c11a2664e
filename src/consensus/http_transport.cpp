#include "consensus/http_transport.hpp"

#include <spdlog/spdlog.h>

#include "consensus/raft_rpc.hpp"
#include "core/backoff.hpp"
#include "core/random.hpp"
#include "rpc/call.hpp"
#include "security/crypto.hpp"

namespace isla::consensus {

namespace {

std::size_t approximate_size(const Message& message) {
  std::size_t size = 80 + message.context.size();
  for (const auto& entry : message.entries) size += 25 + entry.data.size();
  return size;
}

}  // namespace

HttpTransport::HttpTransport(net::IoPool& pool, const net::HttpClient& client,
                             HttpTransportOptions options, Unreachable on_unreachable,
                             Answers on_answers)
    : pool_(pool),
      client_(client),
      options_(std::move(options)),
      on_unreachable_(std::move(on_unreachable)),
      on_answers_(std::move(on_answers)),
      nonce_prefix_(security::to_hex(security::random_bytes(8))) {}

std::shared_ptr<HttpTransport::Peer> HttpTransport::peer(NodeId node) {
  std::lock_guard lock(peers_mutex_);
  auto& slot = peers_[node];
  if (!slot) {
    slot = std::make_shared<Peer>();
    slot->id = node;
    // Each peer's sender lives on one context, spread across the pool.
    slot->context = &pool_.context(peers_.size() % pool_.size());
  }
  return slot;
}

void HttpTransport::start_draining(std::shared_ptr<Peer> target) {
  auto& context = batches_context_ ? *batches_context_ : *target->context;
  asio::co_spawn(context, drain(std::move(target)), asio::detached);
}

void HttpTransport::set_address(NodeId node, const std::string& address) {
  auto endpoint = core::parse_endpoint(address);
  if (!endpoint) spdlog::warn("raft peer {} has an unusable address \"{}\"", node, address);
  auto target = peer(node);
  std::lock_guard lock(target->mutex);
  target->address = std::move(endpoint);
}

void HttpTransport::send(std::vector<Message> messages) {
  std::map<NodeId, std::vector<Message>> by_peer;
  for (auto& message : messages) {
    if (message.type != MessageType::snapshot) {
      by_peer[message.to].push_back(std::move(message));
      continue;
    }
    auto target = peer(message.to);
    bool start = false;
    {
      std::lock_guard lock(target->mutex);
      start = offer_snapshot(*target, std::move(message));
    }
    if (start) asio::co_spawn(*target->context, stream(target), asio::detached);
  }
  for (auto& [node, batch] : by_peer) {
    auto target = peer(node);
    bool start = false;
    {
      std::lock_guard lock(target->mutex);
      for (auto& message : batch) {
        target->queued_bytes += approximate_size(message);
        target->queue.push_back(std::move(message));
      }
      // A peer that does not keep up must not make us hold its backlog without bound, in
      // messages or in bytes (large values): drop the oldest; Raft resends what matters.
      std::size_t excess = 0;
      while (target->queue.size() - excess > 1 &&
             (target->queue.size() - excess > options_.max_queued_messages ||
              target->queued_bytes > options_.max_queued_bytes)) {
        target->queued_bytes -= approximate_size(target->queue[excess]);
        ++excess;
      }
      if (excess > 0) {
        target->queue.erase(target->queue.begin(),
                            target->queue.begin() + static_cast<std::ptrdiff_t>(excess));
        messages_dropped_ += excess;
      }
      // A response being prepared for this peer will carry them.
      start = !target->sending && target->held == 0;
      if (start) target->sending = true;
    }
    if (start) start_draining(target);
  }
}

void HttpTransport::hold(NodeId node) {
  auto target = peer(node);
  std::lock_guard lock(target->mutex);
  ++target->held;
}

std::vector<Message> HttpTransport::release(NodeId node) {
  auto target = peer(node);
  std::vector<Message> answers;
  bool start = false;
  {
    std::lock_guard lock(target->mutex);
    if (target->held > 0) --target->held;
    answers = take_batch(*target);
    start = !target->queue.empty() && !target->sending && target->held == 0;
    if (start) target->sending = true;
  }
  if (start) start_draining(target);
  return answers;
}

std::vector<Message> HttpTransport::take_batch(Peer& peer) {
  std::vector<Message> batch;
  std::size_t bytes = 0;
  std::size_t taken = 0;
  while (taken < peer.queue.size()) {
    const auto size = approximate_size(peer.queue[taken]);
    if (taken > 0 && bytes + size > options_.max_batch_bytes) break;
    bytes += size;
    ++taken;
  }
  batch.assign(std::make_move_iterator(peer.queue.begin()),
               std::make_move_iterator(peer.queue.begin() + static_cast<std::ptrdiff_t>(taken)));
  peer.queued_bytes -= std::min(peer.queued_bytes, bytes);
  peer.queue.erase(peer.queue.begin(), peer.queue.begin() + static_cast<std::ptrdiff_t>(taken));
  return batch;
}

asio::awaitable<void> HttpTransport::drain(std::shared_ptr<Peer> target) {
  for (;;) {
    MessageBatch batch;
    batch.cluster_id = options_.cluster_id;
    std::optional<core::Endpoint> endpoint;
    {
      std::lock_guard lock(target->mutex);
      batch.messages = take_batch(*target);
      if (batch.messages.empty()) {
        target->sending = false;
        co_return;
      }
      endpoint = target->address;
    }
    if (!endpoint) {
      messages_dropped_ += batch.messages.size();
      on_unreachable_(target->id);
      continue;
    }
    if (!co_await exchange(*endpoint, batch)) {
      messages_dropped_ += batch.messages.size();
      on_unreachable_(target->id);
    }
  }
}

asio::awaitable<bool> HttpTransport::exchange(const core::Endpoint& endpoint, MessageBatch& batch) {
  if (on_answers_) {
    batch.reply_nonce = fmt::format("{}{:x}", nonce_prefix_, ++nonces_);
  }
  rpc::CallOptions call;
  call.deadline = std::chrono::steady_clock::now() + options_.request_timeout;
  net::HttpResponse head;  // the answers' MAC travels in a header
  auto outcome = co_await rpc::exchange(client_, endpoint, kSendRaftMessages, batch, call, &head);
  ++batches_sent_;
  if (!outcome.ok()) {
    spdlog::debug("raft messages to {} failed: {}", endpoint.str(), outcome.error.message);
    co_return false;
  }
  if (head.status == 200 && !batch.reply_nonce.empty()) {
    take_answers(head, *outcome.value, batch, endpoint);
  }
  co_return true;
}

// Answers whose MAC does not fit are dropped, not stepped: Raft resends what it needs, and a
// forged append response could otherwise make the leader count entries nobody holds.
void HttpTransport::take_answers(const net::HttpResponse& head, const std::string& body,
                                 const MessageBatch& batch, const core::Endpoint& from) {
  if (!options_.reply_key.empty()) {
    const auto mac = head.header(kReplyMacHeader);
    const auto expected = reply_mac(options_.reply_key, batch.reply_nonce, body);
    if (!mac || !security::equal_in_constant_time(*mac, expected)) {
      ++answers_refused_;
      spdlog::warn("raft answers from {} refused: their MAC does not fit the request", from.str());
      return;
    }
  }
  auto answers = decode_message_batch(body);
  if (!answers) {
    ++answers_refused_;
    spdlog::warn("raft answers from {} refused: the body is not a Raft message batch", from.str());
    return;
  }
  if (!answers->empty()) on_answers_(std::move(*answers));
}

// With the peer's mutex held. Returns whether the peer's stream must be started.
bool HttpTransport::offer_snapshot(Peer& target, Message message) {
  target.offered = std::move(message);
  if (target.streaming) return false;
  target.streaming = true;
  return true;
}

// With the peer's mutex held: folds Raft's latest copy of the snapshot into the transfer in
// progress, or makes it the next transfer once there is none. A transfer is finished even if
// Raft has taken a newer snapshot since: under a steady write load, starting again with each
// newer one would never finish. Copies of a snapshot whose transfer just completed were sent
// before the receiver's Raft could answer it, and are dropped.
void HttpTransport::take_offer(Peer& target, std::unique_ptr<SnapshotChunker>& transfer) {
  if (!target.offered) return;
  const auto key = transfer_key(*target.offered);
  if (transfer) {
    if (key != transfer->key()) return;
    transfer->refresh(*target.offered);
  } else if (target.finished != key || std::chrono::steady_clock::now() >=
                                           target.finished_at + options_.snapshot_resend_guard) {
    transfer = std::make_unique<SnapshotChunker>(std::move(*target.offered), options_.cluster_id,
                                                 options_.snapshot_chunk_bytes,
                                                 options_.snapshot_max_stalls);
  }
  target.offered.reset();
}

asio::awaitable<void> HttpTransport::stream(std::shared_ptr<Peer> target) {
  using Next = SnapshotChunker::Next;
  core::SeededRandom random(core::seed_from_device());
  core::Backoff backoff({std::chrono::milliseconds(50), std::chrono::milliseconds(1000)}, random);
  std::unique_ptr<SnapshotChunker> transfer;
  for (;;) {
    std::optional<core::Endpoint> endpoint;
    {
      std::lock_guard lock(target->mutex);
      take_offer(*target, transfer);
      if (!transfer) {
        target->streaming = false;
        co_return;
      }
      endpoint = target->address;
    }
    auto next = Next::give_up;
    std::string problem = "the peer's address is unknown";
    if (endpoint) {
      auto chunk = transfer->chunk();
      const auto size = chunk.size();
      rpc::CallOptions call;
      call.deadline = std::chrono::steady_clock::now() + options_.request_timeout;
      // Not rpc::exchange: the answer to a refused chunk carries the offset to go on from.
      const auto request = rpc::make_request("POST", snapshot_chunk_target(transfer->header()),
                                             std::move(chunk), call, "application/octet-stream");
      const auto outcome = co_await client_.request(*endpoint, request, call.deadline);
      bool accepted = false;
      if (outcome.ok()) {
        const auto answer = parse_chunk_answer(outcome.response->status, outcome.response->body);
        accepted = answer.status == 200;
        problem = answer.error;
        next = transfer->on_answer(answer);
      } else {
        problem = outcome.message;
        next = transfer->on_failure();
      }
      if (accepted) {
        if (options_.snapshot_observer) options_.snapshot_observer->on_chunk_sent(size);
        backoff.reset();
      } else if (next == Next::send) {
        spdlog::debug("raft snapshot chunk to {} not taken, resending from offset {}: {}",
                      endpoint->str(), transfer->offset(), problem);
        co_await net::sleep_for(backoff.next());
      }
    }
    if (next == Next::send) continue;
    const bool complete = next == Next::done;
    if (options_.snapshot_observer) options_.snapshot_observer->on_snapshot_sent(complete);
    if (complete) {
      spdlog::info("raft snapshot sent to={} index={} bytes={}", target->id, transfer->key().index,
                   transfer->total());
      std::lock_guard lock(target->mutex);
      target->finished = transfer->key();
      target->finished_at = std::chrono::steady_clock::now();
    } else {
      if (problem.empty()) problem = "the receiver's answers moved the transfer no further";
      spdlog::warn("raft snapshot to={} index={} abandoned at offset {} of {}: {}", target->id,
                   transfer->key().index, transfer->offset(), transfer->total(), problem);
      on_unreachable_(target->id);
    }
    transfer.reset();
    backoff.reset();
  }
}

}  // namespace isla::consensus
