#include "support/raw_http.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <stdexcept>
#include <thread>

namespace isla::testing {

namespace {

sockaddr_in address_of(const core::Endpoint& endpoint) {
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(endpoint.port);
  if (inet_pton(AF_INET, endpoint.host.c_str(), &address.sin_addr) != 1) {
    throw std::invalid_argument("not an IPv4 address: " + endpoint.host);
  }
  return address;
}

}  // namespace

std::string raw_exchange(const core::Endpoint& to, const std::string& bytes,
                         std::chrono::milliseconds timeout) {
  RawConnection connection(to, bytes);
  return connection.read_to_end(timeout);
}

RawConnection::RawConnection(const core::Endpoint& to, const std::string& bytes,
                             int receive_buffer_bytes, const std::string& from_host) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (receive_buffer_bytes > 0) {
    ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &receive_buffer_bytes, sizeof receive_buffer_bytes);
  }
  if (!from_host.empty()) {
    // The port comes with connect, from the whole address pair: thousands of connections
    // from one address to different peers do not run out of ports.
    const int on = 1;
    ::setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &on, sizeof on);
    auto local = address_of({from_host, 0});
    if (::bind(fd, reinterpret_cast<sockaddr*>(&local), sizeof local) != 0) {
      ::close(fd);
      return;
    }
  }
  auto address = address_of(to);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
    ::close(fd);
    return;
  }
  fd_ = fd;
  std::size_t sent = 0;
  while (sent < bytes.size()) {
    const auto n = ::send(fd_, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) break;
    sent += static_cast<std::size_t>(n);
  }
}

RawConnection::~RawConnection() {
  if (fd_ >= 0) ::close(fd_);
}

std::string RawConnection::read_until(std::string_view text, std::chrono::milliseconds timeout) {
  std::string reply;
  if (fd_ < 0) return reply;
  const auto give_up = std::chrono::steady_clock::now() + timeout;
  char buffer[64 * 1024];
  while (std::chrono::steady_clock::now() < give_up) {
    pollfd ready{fd_, POLLIN, 0};
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        give_up - std::chrono::steady_clock::now());
    if (::poll(&ready, 1, static_cast<int>(std::max<long long>(1, left.count()))) <= 0) break;
    const auto n = ::recv(fd_, buffer, sizeof buffer, 0);
    if (n <= 0) break;
    // Only the new bytes (and the end of the old, for a `text` split between reads) can
    // complete it.
    const auto from = reply.size() - std::min(reply.size(), text.size());
    reply.append(buffer, static_cast<std::size_t>(n));
    if (!text.empty() && reply.find(text, from) != std::string::npos) break;
  }
  return reply;
}

int status_of(const std::string& reply) {
  if (reply.rfind("HTTP/1.", 0) != 0 || reply.size() < 12) return 0;
  return std::stoi(reply.substr(9, 3));
}

void send_datagram(const core::Endpoint& to, const std::string& bytes,
                   const std::string& from_host) {
  const int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  auto local = address_of({from_host, 1});
  local.sin_port = 0;
  ::bind(fd, reinterpret_cast<sockaddr*>(&local), sizeof local);
  auto address = address_of(to);
  ::sendto(fd, bytes.data(), bytes.size(), 0, reinterpret_cast<sockaddr*>(&address),
           sizeof address);
  ::close(fd);
}

bool eventually(const std::function<bool()>& condition, std::chrono::milliseconds timeout) {
  const auto give_up = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (condition()) return true;
    if (std::chrono::steady_clock::now() >= give_up) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

}  // namespace isla::testing
