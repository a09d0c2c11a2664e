#pragma once
// Plain-socket helpers for tests that must send what no well-behaved client would.
#include <chrono>
#include <functional>
#include <string>
#include <string_view>

#include "core/endpoint.hpp"

namespace isla::testing {

// Connects, sends `bytes`, then reads until the peer closes or `timeout` passes.
std::string raw_exchange(const core::Endpoint& to, const std::string& bytes,
                         std::chrono::milliseconds timeout = std::chrono::milliseconds(3000));

// A connection that has sent its request and reads the answer only when told to: a client
// that stalls. `receive_buffer_bytes` (set before connecting; 0 leaves the system's) keeps
// the kernel from taking much on its behalf, so that what it leaves unread stays with the
// server.
class RawConnection {
 public:
  // `from_host`: the local IPv4 address to connect from (empty: the system's choice).
  RawConnection(const core::Endpoint& to, const std::string& bytes, int receive_buffer_bytes = 0,
                const std::string& from_host = "");
  ~RawConnection();
  RawConnection(const RawConnection&) = delete;
  RawConnection& operator=(const RawConnection&) = delete;

  bool connected() const { return fd_ >= 0; }
  // Reads until the peer closes or `timeout` passes.
  std::string read_to_end(std::chrono::milliseconds timeout) { return read_until({}, timeout); }
  // Reads until what was read holds `text` (unless it is empty), the peer closes, or
  // `timeout` passes.
  std::string read_until(std::string_view text, std::chrono::milliseconds timeout);

 private:
  int fd_ = -1;
};

// The status code of the first response in `reply`, or 0 if there is none.
int status_of(const std::string& reply);

// Sends one UDP datagram from an ephemeral port bound to `from_host`.
void send_datagram(const core::Endpoint& to, const std::string& bytes,
                   const std::string& from_host = "127.0.0.1");

// Polls `condition` every 10 ms until it holds or `timeout` passes; true when it held.
bool eventually(const std::function<bool()>& condition, std::chrono::milliseconds timeout);

}  // namespace isla::testing
