#pragma once
// Streamed snapshots. A snapshot can be larger than any one request may be, so the transport
// sends it as chunks of its encoding (codec.hpp's encode_snapshot, the snapshot file's form),
//   POST /internal/raft/snapshot?cluster=C&from=F&to=T&leader_term=L&index=I&term=S
//                                &offset=O&total=N
// with the chunk's bytes as the body, one chunk in flight per peer. The receiver answers each
// chunk with the offset it now holds of that snapshot, so a sender whose chunk or answer was
// lost, or that restarted, goes on from there rather than from 0; once it holds all N bytes it
// hands Raft the snapshot message the sender's Raft sent. This file is the wire; the ends are
// snapshot_chunker.hpp and snapshot_assembler.hpp, free of sockets and clocks: the transport
// and the store's handler only move bytes.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "consensus/types.hpp"

namespace isla::consensus {

// Told of a replica's snapshot transfers, for metrics. Called on whichever thread moved the
// chunk, so implementations must be thread-safe.
class SnapshotStreamObserver {
 public:
  virtual ~SnapshotStreamObserver() = default;
  virtual void on_chunk_sent(std::size_t bytes) = 0;      // acknowledged as new by the receiver
  virtual void on_chunk_received(std::size_t bytes) = 0;  // new bytes, not a duplicate
  // A transfer ended: the whole snapshot arrived (complete) or the sender gave up on it.
  virtual void on_snapshot_sent(bool complete) = 0;
  // The whole snapshot arrived and went to Raft (complete), or a partial one was dropped:
  // expired, replaced by a newer snapshot, or its bytes did not decode.
  virtual void on_snapshot_received(bool complete) = 0;
};

// What a chunk's query says. (from, index, term, total) names a transfer.
struct ChunkHeader {
  std::uint64_t cluster_id = 0;
  NodeId from = 0;
  NodeId to = 0;
  Term leader_term = 0;      // the snapshot message's term: the sender's when it sent it
  Index index = 0;           // the snapshot's last entry
  Term term = 0;             // and that entry's term
  std::uint64_t offset = 0;  // of this chunk's first byte in the encoded snapshot
  std::uint64_t total = 0;   // the encoded snapshot's size
  friend bool operator==(const ChunkHeader&, const ChunkHeader&) = default;
};

std::string snapshot_chunk_target(const ChunkHeader& header);

struct ChunkQuery {
  std::optional<ChunkHeader> header;
  std::string error;  // when there is no header: what is wrong with the query
};
// Parses the query of a chunk's target (what follows '?'); every parameter is required.
ChunkQuery parse_chunk_query(std::string_view query);

// The receiver's answer to a chunk: the response's status and JSON body.
struct ChunkAnswer {
  int status = 200;  // 200: accepted (a duplicate too); otherwise refused
  // How much of this snapshot the receiver holds, where the sender goes on from. Absent from
  // a refusal that no offset can fix (another cluster, a snapshot too large...).
  std::optional<std::uint64_t> offset;
  bool complete = false;  // the whole snapshot arrived and went to Raft
  std::string error;      // why it was refused
  friend bool operator==(const ChunkAnswer&, const ChunkAnswer&) = default;
};

std::string encode_chunk_answer(const ChunkAnswer& answer);
// The sender's side: an answer that is not one (another server, a proxy's error page) has no
// offset, and ends the transfer.
ChunkAnswer parse_chunk_answer(int status, std::string_view body);

}  // namespace isla::consensus
