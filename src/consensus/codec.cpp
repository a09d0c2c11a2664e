#include "consensus/codec.hpp"

#include <cstring>

namespace isla::consensus {

namespace {

class Writer {
 public:
  Writer& u64(std::uint64_t value) {
    for (int i = 0; i < 8; ++i) out_.push_back(static_cast<char>((value >> (8 * i)) & 0xff));
    return *this;
  }
  Writer& u8(std::uint8_t value) {
    out_.push_back(static_cast<char>(value));
    return *this;
  }
  Writer& bytes(std::string_view data) {
    u64(data.size());
    out_.append(data);
    return *this;
  }
  Writer& ids(const std::vector<NodeId>& nodes) {
    u64(nodes.size());
    for (NodeId node : nodes) u64(node);
    return *this;
  }
  std::string take() { return std::move(out_); }

 private:
  std::string out_;
};

class Reader {
 public:
  explicit Reader(std::string_view in) : in_(in) {}
  bool u64(std::uint64_t& value) {
    if (in_.size() < 8) return false;
    value = 0;
    for (int i = 0; i < 8; ++i) {
      value |= static_cast<std::uint64_t>(static_cast<unsigned char>(in_[i])) << (8 * i);
    }
    in_.remove_prefix(8);
    return true;
  }
  bool u8(std::uint8_t& value) {
    if (in_.empty()) return false;
    value = static_cast<std::uint8_t>(in_[0]);
    in_.remove_prefix(1);
    return true;
  }
  bool bytes(std::string& data) {
    std::uint64_t size = 0;
    if (!u64(size) || size > in_.size()) return false;
    data.assign(in_.substr(0, size));
    in_.remove_prefix(size);
    return true;
  }
  bool ids(std::vector<NodeId>& nodes) {
    std::uint64_t count = 0;
    if (!u64(count) || count > in_.size() / 8) return false;
    nodes.resize(count);
    for (auto& node : nodes) {
      if (!u64(node)) return false;
    }
    return true;
  }
  bool done() const { return in_.empty(); }

 private:
  std::string_view in_;
};

}  // namespace

std::string encode_entry(const Entry& entry) {
  return Writer()
      .u64(entry.term)
      .u64(entry.index)
      .u8(static_cast<std::uint8_t>(entry.type))
      .bytes(entry.data)
      .take();
}

std::optional<Entry> decode_entry(std::string_view bytes) {
  Reader in(bytes);
  Entry entry;
  std::uint8_t type = 0;
  if (!in.u64(entry.term) || !in.u64(entry.index) || !in.u8(type) || !in.bytes(entry.data) ||
      !in.done() || type > static_cast<std::uint8_t>(EntryType::conf_change)) {
    return std::nullopt;
  }
  entry.type = static_cast<EntryType>(type);
  return entry;
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
  return Writer()
      .u64(snapshot.index)
      .u64(snapshot.term)
      .ids(snapshot.conf.voters)
      .ids(snapshot.conf.learners)
      .bytes(snapshot.data)
      .take();
}

std::optional<Snapshot> decode_snapshot(std::string_view bytes) {
  Reader in(bytes);
  Snapshot snapshot;
  if (!in.u64(snapshot.index) || !in.u64(snapshot.term) || !in.ids(snapshot.conf.voters) ||
      !in.ids(snapshot.conf.learners) || !in.bytes(snapshot.data) || !in.done()) {
    return std::nullopt;
  }
  return snapshot;
}

}  // namespace isla::consensus
