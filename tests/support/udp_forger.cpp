#include "support/udp_forger.hpp"

#include <arpa/inet.h>
#include <netinet/ip.h>
#include <netinet/udp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <vector>

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

UdpSocket::UdpSocket(const core::Endpoint& bind) {
  fd_ = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  auto address = address_of(bind);
  if (fd_ < 0 || ::bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
    const std::string why = std::strerror(errno);
    if (fd_ >= 0) ::close(fd_);
    throw std::runtime_error("cannot bind UDP " + bind.str() + ": " + why);
  }
  socklen_t size = sizeof address;
  ::getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &size);
  local_ = {bind.host, ntohs(address.sin_port)};
}

UdpSocket::~UdpSocket() {
  ::close(fd_);
}

void UdpSocket::send(const core::Endpoint& to, const std::string& bytes) const {
  auto address = address_of(to);
  ::sendto(fd_, bytes.data(), bytes.size(), 0, reinterpret_cast<sockaddr*>(&address),
           sizeof address);
}

std::optional<std::string> UdpSocket::receive(std::chrono::milliseconds timeout) const {
  pollfd ready{fd_, POLLIN, 0};
  if (::poll(&ready, 1, static_cast<int>(timeout.count())) <= 0) return std::nullopt;
  std::string buffer(65536, '\0');
  const auto size = ::recv(fd_, buffer.data(), buffer.size(), 0);
  if (size < 0) return std::nullopt;
  buffer.resize(static_cast<std::size_t>(size));
  return buffer;
}

std::string why_no_spoofing() {
  if (::geteuid() != 0) return "forging source addresses needs raw sockets: run as root";
  const int fd = ::socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_RAW);
  if (fd < 0) return std::string("no raw socket: ") + std::strerror(errno);
  ::close(fd);
  return {};
}

void send_spoofed(const core::Endpoint& from, const core::Endpoint& to, const std::string& bytes) {
  const int fd = ::socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_RAW);  // implies IP_HDRINCL
  if (fd < 0) throw std::runtime_error(std::string("raw socket: ") + std::strerror(errno));
  const auto source = address_of(from);
  const auto target = address_of(to);
  std::vector<char> packet(sizeof(iphdr) + sizeof(udphdr) + bytes.size());
  auto* ip = reinterpret_cast<iphdr*>(packet.data());
  ip->version = 4;
  ip->ihl = sizeof(iphdr) / 4;
  ip->ttl = 64;
  ip->protocol = IPPROTO_UDP;
  ip->saddr = source.sin_addr.s_addr;
  ip->daddr = target.sin_addr.s_addr;
  ip->tot_len = htons(static_cast<std::uint16_t>(packet.size()));  // the kernel checks and sums
  auto* udp = reinterpret_cast<udphdr*>(packet.data() + sizeof(iphdr));
  udp->source = source.sin_port;
  udp->dest = target.sin_port;
  udp->len = htons(static_cast<std::uint16_t>(sizeof(udphdr) + bytes.size()));
  udp->check = 0;  // optional over IPv4
  std::memcpy(packet.data() + sizeof(iphdr) + sizeof(udphdr), bytes.data(), bytes.size());
  auto address = target;
  ::sendto(fd, packet.data(), packet.size(), 0, reinterpret_cast<sockaddr*>(&address),
           sizeof address);
  ::close(fd);
}

}  // namespace isla::testing
