#pragma once
// The sending end of a streamed snapshot (snapshot_stream.hpp): which bytes go next, and what
// to make of the receiver's answer. It resumes from whatever offset the receiver reports, so a
// lost chunk, a lost answer or a receiver that restarted costs a chunk, not the transfer.
#include <cstdint>
#include <string>

#include "consensus/snapshot_stream.hpp"

namespace isla::consensus {

// Names a transfer: one snapshot, from one node to another.
struct TransferKey {
  NodeId from = 0;
  NodeId to = 0;
  Index index = 0;
  Term term = 0;
  std::uint64_t total = 0;  // encoded size
  friend bool operator==(const TransferKey&, const TransferKey&) = default;
};
// Of a snapshot message.
TransferKey transfer_key(const Message& message);

class SnapshotChunker {
 public:
  // `message` is Raft's snapshot message; its snapshot's data is sent from where it lies.
  // After `max_stalls` answers or failures in a row that move nothing forward, it gives up.
  SnapshotChunker(Message message, std::uint64_t cluster_id, std::size_t chunk_bytes,
                  int max_stalls);

  const TransferKey& key() const { return key_; }
  // Raft sends a snapshot again while its transfer is slow: a copy in a newer term lends the
  // transfer that term, so the receiver's Raft does not take it for a stale leader's.
  void refresh(const Message& message);

  ChunkHeader header() const;  // of the next chunk
  std::string chunk() const;   // its bytes

  enum class Next { send, done, give_up };
  Next on_answer(const ChunkAnswer& answer);
  Next on_failure();  // no answer: the connection failed or the request timed out

  std::uint64_t offset() const { return offset_; }
  std::uint64_t total() const { return key_.total; }

 private:
  Next stalled();

  Message message_;
  std::string head_;  // encode_snapshot_header: the snapshot's data follows it
  TransferKey key_;
  std::uint64_t cluster_id_;
  std::size_t chunk_bytes_;
  int max_stalls_;
  std::uint64_t offset_ = 0;  // what the receiver said it holds
  int stalls_ = 0;
};

}  // namespace isla::consensus
