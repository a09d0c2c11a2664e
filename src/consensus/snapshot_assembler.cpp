#include "consensus/snapshot_assembler.hpp"

#include <algorithm>
#include <cstring>

#include "consensus/codec.hpp"
#include "consensus/raft_rpc.hpp"

namespace isla::consensus {

namespace {

using Result = SnapshotAssembler::Result;

Result refuse(int status, std::optional<std::uint64_t> offset, std::string error) {
  return {ChunkAnswer{status, offset, false, std::move(error)}, std::nullopt};
}

bool same_transfer(const ChunkHeader& a, const ChunkHeader& b) {
  return a.from == b.from && a.index == b.index && a.term == b.term && a.total == b.total;
}

}  // namespace

SnapshotAssembler::SnapshotAssembler(AssemblerOptions options,
                                     std::shared_ptr<SnapshotStreamObserver> observer)
    : options_(options), observer_(std::move(observer)) {}

Result SnapshotAssembler::accept(std::string_view query, std::string_view data,
                                 Clock::time_point now) {
  auto parsed = parse_chunk_query(query);
  if (!parsed.header) return refuse(400, std::nullopt, std::move(parsed.error));
  return accept(*parsed.header, data, now);
}

Result SnapshotAssembler::accept(const ChunkHeader& header, std::string_view data,
                                 Clock::time_point now) {
  // Refusals without an offset: no resending makes these chunks acceptable.
  if (header.cluster_id != options_.cluster_id) {
    return refuse(409, std::nullopt,
                  "this replica belongs to store cluster " + cluster_param(options_.cluster_id) +
                      ", not " + cluster_param(header.cluster_id));
  }
  if (header.to != options_.self) {
    return refuse(409, std::nullopt,
                  "this replica is node " + std::to_string(options_.self) + ", not " +
                      std::to_string(header.to));
  }
  if (header.total > options_.max_snapshot_bytes) {
    return refuse(413, std::nullopt,
                  "a snapshot of " + std::to_string(header.total) +
                      " bytes is over this replica's limit of " +
                      std::to_string(options_.max_snapshot_bytes));
  }
  if (data.empty() || data.size() > options_.max_chunk_bytes) {
    return refuse(data.empty() ? 400 : 413, std::nullopt,
                  "a chunk carries 1 to " + std::to_string(options_.max_chunk_bytes) +
                      " bytes, not " + std::to_string(data.size()));
  }
  if (header.offset > header.total || data.size() > header.total - header.offset) {
    return refuse(400, std::nullopt,
                  "the chunk runs past the snapshot's end (offset " +
                      std::to_string(header.offset) + " + " + std::to_string(data.size()) +
                      " bytes > total " + std::to_string(header.total) + ")");
  }

  std::lock_guard lock(mutex_);
  expire_locked(now);
  auto found = partials_.find(header.from);
  if (found != partials_.end() && same_transfer(found->second.first, header)) {
    return append(found->second, header, data, now);
  }
  // A chunk of a snapshot this replica holds nothing of. Any partial transfer from the same
  // sender is left alone until this one really starts: the sender may be out of date.
  if (header.offset != 0) {
    return refuse(409, 0,
                  "no transfer of snapshot " + std::to_string(header.index) +
                      " is in progress here; start from offset 0");
  }
  if (found != partials_.end()) {
    drop(header.from);  // the sender has moved on to another snapshot
  } else if (partials_.size() >= options_.max_transfers) {
    return refuse(503, 0, "too many snapshot transfers in progress here; retry");
  }
  auto& partial = partials_[header.from];
  partial.first = header;
  return append(partial, header, data, now);
}

Result SnapshotAssembler::append(Partial& partial, const ChunkHeader& header, std::string_view data,
                                 Clock::time_point now) {
  const std::uint64_t held = partial.bytes.size();
  if (header.offset == held) {
    // Growth is geometric, as std::string's own, but never beyond the total.
    const std::uint64_t needed = held + data.size();
    if (partial.bytes.capacity() < needed) {
      partial.bytes.reserve(std::min<std::uint64_t>(
          header.total, std::max<std::uint64_t>(needed, 2 * partial.bytes.capacity())));
    }
    partial.bytes.append(data);
    partial.touched = now;
    // The newest copy's term is the one the receiver's Raft should judge the sender by.
    partial.first.leader_term = std::max(partial.first.leader_term, header.leader_term);
    if (observer_) observer_->on_chunk_received(data.size());
    if (partial.bytes.size() == header.total) return complete(header.from);
    return {ChunkAnswer{200, partial.bytes.size(), false, {}}, std::nullopt};
  }
  if (header.offset < held && data.size() <= held - header.offset) {
    // A chunk sent again because its answer was lost, or by a sender that restarted: the
    // same bytes are acknowledged with what is held, other bytes void the transfer.
    if (std::memcmp(partial.bytes.data() + header.offset, data.data(), data.size()) == 0) {
      partial.touched = now;
      return {ChunkAnswer{200, held, false, {}}, std::nullopt};
    }
    drop(header.from);
    return refuse(409, 0,
                  "the chunk at offset " + std::to_string(header.offset) +
                      " differs from the bytes received before; start again from offset 0");
  }
  return refuse(409, held,
                std::string(header.offset < held ? "the chunk overlaps bytes already received"
                                                 : "chunks must come in order") +
                    "; go on from offset " + std::to_string(held));
}

Result SnapshotAssembler::complete(NodeId from) {
  auto node = partials_.extract(from);
  Partial& partial = node.mapped();
  auto decoded = decode_snapshot_header(partial.bytes);
  if (!decoded || decoded->snapshot.index != partial.first.index ||
      decoded->snapshot.term != partial.first.term) {
    if (observer_) observer_->on_snapshot_received(false);
    return refuse(400, std::nullopt,
                  "the " + std::to_string(partial.first.total) +
                      " bytes received are not the snapshot the chunks named");
  }
  // The data is the tail of the buffer: shift it down rather than copy it.
  partial.bytes.erase(0, decoded->length);
  Message message;
  message.type = MessageType::snapshot;
  message.from = partial.first.from;
  message.to = partial.first.to;
  message.term = partial.first.leader_term;
  message.snapshot = std::move(decoded->snapshot);
  message.snapshot->data = std::move(partial.bytes);
  if (observer_) observer_->on_snapshot_received(true);
  return {ChunkAnswer{200, partial.first.total, true, {}}, std::move(message)};
}

void SnapshotAssembler::drop(NodeId from) {
  if (partials_.erase(from) > 0 && observer_) observer_->on_snapshot_received(false);
}

std::size_t SnapshotAssembler::expire(Clock::time_point now) {
  std::lock_guard lock(mutex_);
  return expire_locked(now);
}

std::size_t SnapshotAssembler::expire_locked(Clock::time_point now) {
  std::size_t expired = 0;
  for (auto it = partials_.begin(); it != partials_.end();) {
    if (now - it->second.touched < options_.idle_timeout) {
      ++it;
      continue;
    }
    it = partials_.erase(it);
    ++expired;
    if (observer_) observer_->on_snapshot_received(false);
  }
  return expired;
}

std::size_t SnapshotAssembler::transfers() const {
  std::lock_guard lock(mutex_);
  return partials_.size();
}

std::uint64_t SnapshotAssembler::buffered_bytes() const {
  std::lock_guard lock(mutex_);
  std::uint64_t bytes = 0;
  for (const auto& [from, partial] : partials_) bytes += partial.bytes.size();
  return bytes;
}

}  // namespace isla::consensus
