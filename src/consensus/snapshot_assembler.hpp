#pragma once
// The receiving end of a streamed snapshot (snapshot_stream.hpp): each sender's chunks are
// appended in order to its one partial transfer, which becomes Raft's snapshot message once
// complete. Out-of-order and overlapping chunks are refused with the offset to go on from; a
// chunk already held is acknowledged again, so retries are harmless.
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <optional>

#include "consensus/snapshot_stream.hpp"

namespace isla::consensus {

struct AssemblerOptions {
  std::uint64_t cluster_id = 0;
  NodeId self = 0;
  std::uint64_t max_snapshot_bytes = std::uint64_t{4} << 30;
  std::uint64_t max_chunk_bytes = std::uint64_t{16} << 20;
  // Senders with a partial transfer at once (each sender has at most one): a bound on memory.
  std::size_t max_transfers = 4;
  // A partial transfer no chunk has added to for this long is dropped with its memory.
  std::chrono::milliseconds idle_timeout{60'000};
};

// Thread-safe: chunks from different senders arrive on different I/O threads.
class SnapshotAssembler {
 public:
  using Clock = std::chrono::steady_clock;

  explicit SnapshotAssembler(AssemblerOptions options,
                             std::shared_ptr<SnapshotStreamObserver> observer = nullptr);

  struct Result {
    ChunkAnswer answer;
    std::optional<Message> message;  // when complete: the snapshot message, for Raft
  };
  Result accept(const ChunkHeader& header, std::string_view data, Clock::time_point now);
  // parse_chunk_query, then accept.
  Result accept(std::string_view query, std::string_view data, Clock::time_point now);

  // Drops partial transfers idle past the timeout; returns how many.
  std::size_t expire(Clock::time_point now);
  std::size_t transfers() const;
  std::uint64_t buffered_bytes() const;  // held by partial transfers

 private:
  struct Partial {
    ChunkHeader first;  // names the transfer: its from, index, term and total
    std::string bytes;
    Clock::time_point touched;
  };

  Result append(Partial& partial, const ChunkHeader& header, std::string_view data,
                Clock::time_point now);
  Result complete(NodeId from);
  void drop(NodeId from);
  std::size_t expire_locked(Clock::time_point now);

  AssemblerOptions options_;
  std::shared_ptr<SnapshotStreamObserver> observer_;
  mutable std::mutex mutex_;
  std::map<NodeId, Partial> partials_;  // by sender
};

}  // namespace isla::consensus
