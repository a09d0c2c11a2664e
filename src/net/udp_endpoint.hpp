#pragma once
// A UDP socket for membership datagrams, bound to the same address as the node's HTTP port.
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "core/endpoint.hpp"
#include "net/asio.hpp"

namespace isla::net {

inline constexpr std::size_t kMaxDatagramBytes = 1200;  // fits any path MTU without fragments

class UdpEndpoint {
 public:
  using Receiver = std::function<void(std::string_view datagram, const core::Endpoint& from)>;

  // Binds at once; throws std::runtime_error naming the address on failure. With
  // `share_port`, other sockets may bind the same port on other addresses of the host (a
  // node's own address and its subnet's broadcast address).
  UdpEndpoint(asio::io_context& context, const core::Endpoint& bind, bool share_port = false);
  ~UdpEndpoint();

  // Starts the receive loop on the socket's context; `receiver` runs on that context.
  void start(Receiver receiver);
  // Queues one datagram; callable from any thread. Oversized or undeliverable datagrams are
  // dropped: UDP membership tolerates loss by design.
  void send(const core::Endpoint& to, std::string datagram);
  void close();
  // Lets send() reach a broadcast address (SO_BROADCAST).
  void allow_broadcast();

  struct Impl;

 private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace isla::net
