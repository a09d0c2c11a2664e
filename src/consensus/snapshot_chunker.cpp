#include "consensus/snapshot_chunker.hpp"

#include <algorithm>

#include "consensus/codec.hpp"

namespace isla::consensus {

TransferKey transfer_key(const Message& message) {
  const Snapshot& snapshot = *message.snapshot;
  return {message.from, message.to, snapshot.index, snapshot.term,
          encode_snapshot_header(snapshot).size() + snapshot.data.size()};
}

SnapshotChunker::SnapshotChunker(Message message, std::uint64_t cluster_id, std::size_t chunk_bytes,
                                 int max_stalls)
    : message_(std::move(message)),
      head_(encode_snapshot_header(*message_.snapshot)),
      key_(transfer_key(message_)),
      cluster_id_(cluster_id),
      chunk_bytes_(std::max<std::size_t>(chunk_bytes, 1)),
      max_stalls_(max_stalls) {}

void SnapshotChunker::refresh(const Message& message) {
  message_.term = std::max(message_.term, message.term);
}

ChunkHeader SnapshotChunker::header() const {
  return {cluster_id_,
          message_.from,
          message_.to,
          message_.term,
          message_.snapshot->index,
          message_.snapshot->term,
          offset_,
          total()};
}

std::string SnapshotChunker::chunk() const {
  const std::string_view data = message_.snapshot->data;
  const std::uint64_t end = std::min<std::uint64_t>(total(), offset_ + chunk_bytes_);
  std::string bytes;
  bytes.reserve(end - offset_);
  if (offset_ < head_.size()) {
    bytes.append(head_, offset_, std::min<std::uint64_t>(end, head_.size()) - offset_);
  }
  if (end > head_.size()) {
    const std::uint64_t from = std::max<std::uint64_t>(offset_, head_.size()) - head_.size();
    bytes.append(data.substr(from, end - head_.size() - from));
  }
  return bytes;
}

SnapshotChunker::Next SnapshotChunker::on_answer(const ChunkAnswer& answer) {
  // Without an offset the receiver refuses the snapshot itself (or is no receiver at all):
  // sending it again would be refused again.
  if (!answer.offset || *answer.offset > total()) return Next::give_up;
  if (answer.status == 200 && answer.complete) {
    if (*answer.offset != total()) return Next::give_up;
    offset_ = total();
    return Next::done;
  }
  const bool advanced = answer.status == 200 && *answer.offset > offset_;
  // The receiver's offset is the truth, forwards or back: it may have restarted, or dropped
  // a partial transfer that differed from ours.
  offset_ = *answer.offset;
  // Holding every byte without having the snapshot: nothing is left to send.
  if (offset_ == total()) return Next::give_up;
  if (advanced) {
    stalls_ = 0;
    return Next::send;
  }
  return stalled();
}

SnapshotChunker::Next SnapshotChunker::on_failure() {
  return stalled();
}

SnapshotChunker::Next SnapshotChunker::stalled() {
  return ++stalls_ > max_stalls_ ? Next::give_up : Next::send;
}

}  // namespace isla::consensus
