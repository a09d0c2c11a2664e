#include "consensus/codec.hpp"

#include "consensus/byte_io.hpp"

namespace isla::consensus {

namespace {

void write_entry(Writer& out, const Entry& entry) {
  out.u64(entry.term).u64(entry.index).u8(static_cast<std::uint8_t>(entry.type)).bytes(entry.data);
}

bool read_entry(Reader& in, Entry& entry) {
  std::uint8_t type = 0;
  if (!in.u64(entry.term) || !in.u64(entry.index) || !in.u8(type) || !in.bytes(entry.data) ||
      type > static_cast<std::uint8_t>(EntryType::conf_change)) {
    return false;
  }
  entry.type = static_cast<EntryType>(type);
  return true;
}

// Everything but the data, which follows: its length is the header's last field.
void write_snapshot_header(Writer& out, const Snapshot& snapshot) {
  out.u64(snapshot.index)
      .u64(snapshot.term)
      .ids(snapshot.conf.voters)
      .ids(snapshot.conf.learners)
      .u64(snapshot.data.size());
}

void write_snapshot(Writer& out, const Snapshot& snapshot) {
  write_snapshot_header(out, snapshot);
  out.raw(snapshot.data);
}

bool read_snapshot_header(Reader& in, Snapshot& snapshot, std::uint64_t& data_size) {
  return in.u64(snapshot.index) && in.u64(snapshot.term) && in.ids(snapshot.conf.voters) &&
         in.ids(snapshot.conf.learners) && in.u64(data_size);
}

bool read_snapshot(Reader& in, Snapshot& snapshot) {
  std::uint64_t size = 0;
  return read_snapshot_header(in, snapshot, size) && in.raw(snapshot.data, size);
}

constexpr std::uint8_t kLastMessageType =
    static_cast<std::uint8_t>(MessageType::read_index_response);
// Each entry costs at least 25 bytes on the wire: a count larger than that allows is a lie.
constexpr std::size_t kMinEntryBytes = 25;
constexpr std::size_t kMinMessageBytes = 75;

void write_message(Writer& out, const Message& message) {
  out.u8(static_cast<std::uint8_t>(message.type))
      .u64(message.from)
      .u64(message.to)
      .u64(message.term)
      .u64(message.index)
      .u64(message.log_term)
      .u64(message.entries.size());
  for (const auto& entry : message.entries) write_entry(out, entry);
  out.u64(message.commit).u8(message.reject ? 1 : 0).u64(message.reject_hint);
  out.u8(message.snapshot ? 1 : 0);
  if (message.snapshot) write_snapshot(out, *message.snapshot);
  out.bytes(message.context);
}

bool read_message(Reader& in, Message& message) {
  std::uint8_t type = 0;
  std::uint64_t count = 0;
  if (!in.u8(type) || type > kLastMessageType || !in.u64(message.from) || !in.u64(message.to) ||
      !in.u64(message.term) || !in.u64(message.index) || !in.u64(message.log_term) ||
      !in.u64(count) || count > in.remaining() / kMinEntryBytes) {
    return false;
  }
  message.type = static_cast<MessageType>(type);
  message.entries.resize(count);
  for (auto& entry : message.entries) {
    if (!read_entry(in, entry)) return false;
  }
  std::uint8_t reject = 0;
  std::uint8_t has_snapshot = 0;
  if (!in.u64(message.commit) || !in.u8(reject) || reject > 1 || !in.u64(message.reject_hint) ||
      !in.u8(has_snapshot) || has_snapshot > 1) {
    return false;
  }
  message.reject = reject == 1;
  if (has_snapshot == 1) {
    message.snapshot.emplace();
    if (!read_snapshot(in, *message.snapshot)) return false;
  }
  // A snapshot message without a snapshot would be dereferenced by the receiver.
  if (message.type == MessageType::snapshot && !message.snapshot) return false;
  return in.bytes(message.context);
}

}  // namespace

std::string encode_entry(const Entry& entry) {
  Writer out;
  write_entry(out, entry);
  return out.take();
}

std::optional<Entry> decode_entry(std::string_view bytes) {
  Reader in(bytes);
  Entry entry;
  if (!read_entry(in, entry) || !in.done()) return std::nullopt;
  return entry;
}

std::string encode_message_batch(const std::vector<Message>& messages) {
  Writer out;
  out.u64(messages.size());
  for (const auto& message : messages) write_message(out, message);
  return out.take();
}

std::optional<std::vector<Message>> decode_message_batch(std::string_view bytes) {
  Reader in(bytes);
  std::uint64_t count = 0;
  if (!in.u64(count) || count > in.remaining() / kMinMessageBytes) return std::nullopt;
  std::vector<Message> messages(count);
  for (auto& message : messages) {
    if (!read_message(in, message)) return std::nullopt;
  }
  if (!in.done()) return std::nullopt;
  return messages;
}

std::string encode_hard_state(const HardState& state) {
  return Writer().u64(state.term).u64(state.vote).u64(state.commit).take();
}

std::optional<HardState> decode_hard_state(std::string_view bytes) {
  Reader in(bytes);
  HardState state;
  if (!in.u64(state.term) || !in.u64(state.vote) || !in.u64(state.commit) || !in.done()) {
    return std::nullopt;
  }
  return state;
}

std::string encode_snapshot(const Snapshot& snapshot) {
  Writer out;
  write_snapshot(out, snapshot);
  return out.take();
}

std::optional<Snapshot> decode_snapshot(std::string_view bytes) {
  Reader in(bytes);
  Snapshot snapshot;
  if (!read_snapshot(in, snapshot) || !in.done()) return std::nullopt;
  return snapshot;
}

std::string encode_snapshot_header(const Snapshot& snapshot) {
  Writer out;
  write_snapshot_header(out, snapshot);
  return out.take();
}

std::optional<SnapshotHeader> decode_snapshot_header(std::string_view bytes) {
  Reader in(bytes);
  SnapshotHeader header;
  std::uint64_t size = 0;
  if (!read_snapshot_header(in, header.snapshot, size) || size != in.remaining()) {
    return std::nullopt;
  }
  header.length = bytes.size() - in.remaining();
  return header;
}

}  // namespace isla::consensus
