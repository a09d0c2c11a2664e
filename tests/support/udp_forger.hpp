#pragma once
// UDP as an attacker on the island's network would use it: a socket bound to an address and
// port of our choosing (to pose as a node, or to capture what a real node announces), and
// datagrams whose IP source address and port are forged (raw sockets: root only).
#include <chrono>
#include <optional>
#include <string>

#include "core/endpoint.hpp"

namespace isla::testing {

class UdpSocket {
 public:
  // Binds at once; port 0 picks a free one. Throws naming the address on failure.
  explicit UdpSocket(const core::Endpoint& bind);
  ~UdpSocket();
  UdpSocket(const UdpSocket&) = delete;
  UdpSocket& operator=(const UdpSocket&) = delete;

  core::Endpoint local() const { return local_; }
  void send(const core::Endpoint& to, const std::string& bytes) const;
  // The next datagram, or nullopt when none arrives within `timeout`.
  std::optional<std::string> receive(std::chrono::milliseconds timeout) const;

 private:
  int fd_ = -1;
  core::Endpoint local_;
};

// Why forged-source datagrams cannot be sent here (not root, no raw sockets), or empty.
std::string why_no_spoofing();
// Sends `bytes` to `to` as if from `from` (IP and UDP source forged). Requires root.
void send_spoofed(const core::Endpoint& from, const core::Endpoint& to, const std::string& bytes);

}  // namespace isla::testing
