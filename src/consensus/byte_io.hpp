#pragma once
// Little-endian, length-prefixed byte encoding shared by the consensus codecs and the
// store's command codec. Readers fail (return false) on short input instead of throwing.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace isla::consensus {

class Writer {
 public:
  Writer() = default;
  explicit Writer(std::size_t expected_size) { out_.reserve(expected_size); }

  Writer& u64(std::uint64_t value) {
    // One append of 8 bytes, not 8 push_backs: snapshots write millions of these.
    char bytes[8];
    for (int i = 0; i < 8; ++i) bytes[i] = static_cast<char>((value >> (8 * i)) & 0xff);
    out_.append(bytes, sizeof bytes);
    return *this;
  }
  Writer& u8(std::uint8_t value) {
    out_.push_back(static_cast<char>(value));
    return *this;
  }
  Writer& bytes(std::string_view data) {
    u64(data.size());
    return raw(data);
  }
  // Bytes whose length was written earlier (or is implied by the end of the input).
  Writer& raw(std::string_view data) {
    out_.append(data);
    return *this;
  }
  Writer& ids(const std::vector<std::uint64_t>& nodes) {
    u64(nodes.size());
    for (std::uint64_t node : nodes) u64(node);
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
    return u64(size) && raw(data, size);
  }
  bool raw(std::string& data, std::uint64_t size) {
    if (size > in_.size()) return false;
    data.assign(in_.substr(0, size));
    in_.remove_prefix(size);
    return true;
  }
  bool ids(std::vector<std::uint64_t>& nodes) {
    std::uint64_t count = 0;
    if (!u64(count) || count > in_.size() / 8) return false;
    nodes.resize(count);
    for (auto& node : nodes) {
      if (!u64(node)) return false;
    }
    return true;
  }
  bool done() const { return in_.empty(); }
  std::size_t remaining() const { return in_.size(); }

 private:
  std::string_view in_;
};

}  // namespace isla::consensus
