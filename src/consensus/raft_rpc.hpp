#pragma once
// The Raft transport's one RPC: a batch of messages for one peer, in the binary form of
// consensus/codec.hpp (entries carry arbitrary bytes; JSON would inflate them). The answer
// is an empty 204: Raft's own responses travel the other way as messages.
#include <fmt/format.h>

#include <string>
#include <vector>

#include "consensus/codec.hpp"
#include "rpc/method.hpp"

namespace isla::consensus {

struct MessageBatch {
  std::uint64_t cluster_id = 0;  // the receiver refuses another cluster's messages
  std::vector<Message> messages;
};

inline std::string cluster_param(std::uint64_t cluster_id) {
  return fmt::format("{:016x}", cluster_id);
}

inline std::string encode_body(const MessageBatch& batch) {
  return encode_message_batch(batch.messages);
}

inline std::string raft_messages_path(const MessageBatch& batch) {
  return "/internal/raft/messages?cluster=" + cluster_param(batch.cluster_id);
}

inline constexpr rpc::Method<MessageBatch, rpc::Empty> kSendRaftMessages{
    .name = "raft.messages",
    .verb = "POST",
    .path = raft_messages_path,
    .idempotent = true,  // Raft tolerates duplicated messages
    .has_body = true,
    .content_type = "application/octet-stream"};

}  // namespace isla::consensus
