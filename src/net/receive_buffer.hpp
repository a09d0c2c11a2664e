#pragma once
// Bytes received on a connection and not parsed yet: what the request and response readers
// parse from, filled by a socket (prepare, then commit) or by a test or fuzzer (feed).
#include <boost/beast/core/flat_buffer.hpp>
#include <cstring>
#include <string_view>

#include "net/asio.hpp"

namespace isla::net {

class ReceiveBuffer {
 public:
  static constexpr std::size_t kReceiveChunk = 16 * 1024;
  // A large request or answer (a snapshot chunk, megabytes) grows the buffer; once it is
  // consumed, a capacity above this is given back, so a long-lived connection holds only
  // what an ordinary exchange needs.
  static constexpr std::size_t kKeptCapacity = 4 * kReceiveChunk;

  // Room for the next receive, then how much of it was filled.
  asio::mutable_buffer prepare(std::size_t bytes = kReceiveChunk) {
    if (buffer_.size() == 0 && buffer_.capacity() > kKeptCapacity) buffer_.shrink_to_fit();
    return buffer_.prepare(bytes);
  }
  void commit(std::size_t bytes) { buffer_.commit(bytes); }
  // Appends bytes as if received.
  void feed(std::string_view bytes) {
    auto room = prepare(bytes.size());
    if (!bytes.empty()) std::memcpy(room.data(), bytes.data(), bytes.size());
    commit(bytes.size());
  }
  bool has_bytes() const { return buffer_.size() > 0; }

  asio::const_buffer data() const { return buffer_.data(); }
  void consume(std::size_t bytes) { buffer_.consume(bytes); }

 private:
  boost::beast::flat_buffer buffer_;
};

}  // namespace isla::net
