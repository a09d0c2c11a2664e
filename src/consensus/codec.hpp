#pragma once
// Binary forms of Raft's persistent records (WAL payloads and the snapshot file) and of its
// messages on the wire. Little-
// endian, length-prefixed; every decoder rejects short or trailing bytes.
#include <optional>
#include <string>
#include <string_view>

#include "consensus/types.hpp"

namespace isla::consensus {

std::string encode_entry(const Entry& entry);
std::optional<Entry> decode_entry(std::string_view bytes);

std::string encode_hard_state(const HardState& state);
std::optional<HardState> decode_hard_state(std::string_view bytes);

std::string encode_snapshot(const Snapshot& snapshot);
std::optional<Snapshot> decode_snapshot(std::string_view bytes);

// encode_snapshot(s) is encode_snapshot_header(s) followed by s.data, so that a snapshot can
// be streamed from where its data lies, and reassembled without a second copy of it.
std::string encode_snapshot_header(const Snapshot& snapshot);
struct SnapshotHeader {
  Snapshot snapshot;       // all but the data
  std::size_t length = 0;  // of the header: the data follows
};
// Succeeds only if the data after the header is exactly as long as the header says.
std::optional<SnapshotHeader> decode_snapshot_header(std::string_view bytes);

// Raft messages as the transport sends them to one peer, several to a request.
std::string encode_message_batch(const std::vector<Message>& messages);
std::optional<std::vector<Message>> decode_message_batch(std::string_view bytes);

}  // namespace isla::consensus
