#include "consensus/http_transport.hpp"

#include <spdlog/spdlog.h>

#include "consensus/raft_rpc.hpp"
#include "rpc/call.hpp"

namespace isla::consensus {

namespace {

std::size_t approximate_size(const Message& message) {
  std::size_t size = 80 + message.context.size();
  for (const auto& entry : message.entries) size += 25 + entry.data.size();
  if (message.snapshot) size += message.snapshot->data.size();
  return size;
}

}  // namespace

HttpTransport::HttpTransport(net::IoPool& pool, const net::HttpClient& client,
                             HttpTransportOptions options, Unreachable on_unreachable)
    : pool_(pool), client_(client), options_(options), on_unreachable_(std::move(on_unreachable)) {}

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

void HttpTransport::set_address(NodeId node, const std::string& address) {
  auto endpoint = core::parse_endpoint(address);
  if (!endpoint) spdlog::warn("raft peer {} has an unusable address \"{}\"", node, address);
  auto target = peer(node);
  std::lock_guard lock(target->mutex);
  target->address = std::move(endpoint);
}

void HttpTransport::send(std::vector<Message> messages) {
  std::map<NodeId, std::vector<Message>> by_peer;
  for (auto& message : messages) by_peer[message.to].push_back(std::move(message));
  for (auto& [node, batch] : by_peer) {
    auto target = peer(node);
    bool start = false;
    {
      std::lock_guard lock(target->mutex);
      for (auto& message : batch) target->queue.push_back(std::move(message));
      if (target->queue.size() > options_.max_queued_messages) {
        const auto excess = target->queue.size() - options_.max_queued_messages;
        target->queue.erase(target->queue.begin(),
                            target->queue.begin() + static_cast<std::ptrdiff_t>(excess));
        messages_dropped_ += excess;
      }
      start = !target->sending;
      target->sending = true;
    }
    if (start) asio::co_spawn(*target->context, drain(target), asio::detached);
  }
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
    rpc::CallOptions call;
    call.deadline = std::chrono::steady_clock::now() + options_.request_timeout;
    auto outcome = co_await rpc::exchange(client_, *endpoint, kSendRaftMessages, batch, call);
    ++batches_sent_;
    if (!outcome.ok()) {
      spdlog::debug("raft messages to {} failed: {}", endpoint->str(), outcome.error.message);
      messages_dropped_ += batch.messages.size();
      on_unreachable_(target->id);
    }
  }
}

}  // namespace isla::consensus
