#pragma once
// The Raft transport's one RPC: a batch of messages for one peer, in the binary form of
// consensus/codec.hpp (entries carry arbitrary bytes; JSON would inflate them). The answer
// is an empty 204: Raft's own responses travel the other way as messages.
#include <string>
#include <vector>

#include "consensus/codec.hpp"
#include "rpc/method.hpp"

namespace isla::consensus {

struct MessageBatch {
  std::vector<Message> messages;
};

inline std::string encode_body(const MessageBatch& batch) {
  return encode_message_batch(batch.messages);
}

inline std::string raft_messages_path(const MessageBatch&) {
  return "/internal/raft/messages";
}

inline constexpr rpc::Method<MessageBatch, rpc::Empty> kSendRaftMessages{
    .name = "raft.messages",
    .verb = "POST",
    .path = raft_messages_path,
    .idempotent = true,  // Raft tolerates duplicated messages
    .has_body = true,
    .content_type = "application/octet-stream"};

}  // namespace isla::consensus
