#pragma once
// The Raft transport's one RPC: a batch of messages for one peer, in the binary form of
// consensus/codec.hpp (entries carry arbitrary bytes; JSON would inflate them).
//
// A batch that carries a reply nonce (`reply=`) asks for Raft's answers in the response: the
// receiver steps the batch, waits until its Raft has made them durable (an append's answer
// promises the entries are on disk), and answers 200 with every message it then had for the
// sender, or 204 with none. That saves the request of their own each answer would otherwise
// take, and its answer: half the HTTP exchanges of replication. The body carries the
// Isla-Reply-Mac header, an HMAC with the island's reply key over the nonce and the body, so
// that answers are authenticated like the signed request they answer, and bound to it (a
// recorded answer does not fit another request). Without a nonce the answer is an empty 204
// and Raft's answers travel the other way in requests of their own.
#include <fmt/format.h>

#include <string>
#include <vector>

#include "consensus/codec.hpp"
#include "rpc/method.hpp"
#include "security/crypto.hpp"

namespace isla::consensus {

struct MessageBatch {
  std::uint64_t cluster_id = 0;  // the receiver refuses another cluster's messages
  std::vector<Message> messages;
  std::string reply_nonce;  // hex; empty: answers do not ride the response
};

inline constexpr std::string_view kReplyMacHeader = "Isla-Reply-Mac";

// A nonce is what the sender made it, within these bounds; anything else is not one.
inline bool valid_reply_nonce(std::string_view nonce) {
  return security::is_lower_hex(nonce, 1, 64);
}

inline std::string reply_mac(std::string_view key, std::string_view nonce, std::string_view body) {
  std::string data = "isla-raft-reply-v1\n";
  data.append(nonce).append("\n").append(body);
  return security::to_hex(security::hmac_sha256(key, data));
}

inline std::string cluster_param(std::uint64_t cluster_id) {
  return fmt::format("{:016x}", cluster_id);
}

inline std::string encode_body(const MessageBatch& batch) {
  return encode_message_batch(batch.messages);
}

inline std::string raft_messages_path(const MessageBatch& batch) {
  std::string path = "/internal/raft/messages?cluster=" + cluster_param(batch.cluster_id);
  if (!batch.reply_nonce.empty()) path += "&reply=" + batch.reply_nonce;
  return path;
}

inline constexpr rpc::Method<MessageBatch, rpc::Empty> kSendRaftMessages{
    .name = "raft.messages",
    .verb = "POST",
    .path = raft_messages_path,
    .idempotent = true,  // Raft tolerates duplicated messages
    .has_body = true,
    .content_type = "application/octet-stream"};

}  // namespace isla::consensus
