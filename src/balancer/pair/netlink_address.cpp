#include "balancer/pair/netlink_address.hpp"

// glibc's headers, not linux/if_arp.h: that one pulls linux/if.h, which clashes with net/if.h.
#include <arpa/inet.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <netpacket/packet.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdint>
#include <cstring>

namespace isla::balancer::pair {

namespace {

struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

std::string errno_text(const char* what) {
  return std::string(what) + ": " + std::strerror(errno);
}

}  // namespace

std::string netlink_set_address(bool add, const std::string& device, const std::string& address,
                                int prefix_length) {
  in_addr ip{};
  if (::inet_pton(AF_INET, address.c_str(), &ip) != 1) return "not an IPv4 address: " + address;
  const unsigned index = ::if_nametoindex(device.c_str());
  if (index == 0) return errno_text(("no device " + device).c_str());

  struct {
    nlmsghdr header;
    ifaddrmsg message;
    std::array<char, 64> attributes;
  } request{};
  request.header.nlmsg_len = NLMSG_LENGTH(sizeof(ifaddrmsg));
  request.header.nlmsg_type = add ? RTM_NEWADDR : RTM_DELADDR;
  request.header.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | (add ? NLM_F_CREATE | NLM_F_REPLACE : 0);
  request.header.nlmsg_seq = 1;
  request.message.ifa_family = AF_INET;
  request.message.ifa_prefixlen = static_cast<unsigned char>(prefix_length);
  request.message.ifa_scope = RT_SCOPE_UNIVERSE;
  request.message.ifa_index = index;
  for (const auto type : {IFA_LOCAL, IFA_ADDRESS}) {
    auto* attribute = reinterpret_cast<rtattr*>(reinterpret_cast<char*>(&request) +
                                                NLMSG_ALIGN(request.header.nlmsg_len));
    attribute->rta_type = type;
    attribute->rta_len = RTA_LENGTH(sizeof ip);
    std::memcpy(RTA_DATA(attribute), &ip, sizeof ip);
    request.header.nlmsg_len =
        NLMSG_ALIGN(request.header.nlmsg_len) + RTA_ALIGN(attribute->rta_len);
  }

  Fd socket{::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE)};
  if (socket.fd < 0) return errno_text("netlink socket");
  sockaddr_nl kernel{};
  kernel.nl_family = AF_NETLINK;
  if (::sendto(socket.fd, &request, request.header.nlmsg_len, 0,
               reinterpret_cast<sockaddr*>(&kernel), sizeof kernel) < 0) {
    return errno_text("netlink send");
  }
  std::array<char, 4096> answer{};
  timeval timeout{1, 0};
  ::setsockopt(socket.fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  const auto received = ::recv(socket.fd, answer.data(), answer.size(), 0);
  if (received < 0) return errno_text("netlink receive");
  const auto* header = reinterpret_cast<const nlmsghdr*>(answer.data());
  if (!NLMSG_OK(header, static_cast<unsigned>(received)) || header->nlmsg_type != NLMSG_ERROR) {
    return "netlink: unexpected answer";
  }
  const int error = -static_cast<const nlmsgerr*>(NLMSG_DATA(header))->error;
  if (error == 0 || (!add && error == EADDRNOTAVAIL)) return {};
  return std::string(add ? "adding " : "deleting ") + address + ": " + std::strerror(error);
}

std::string send_gratuitous_arp(const std::string& interface, const std::string& address) {
  in_addr ip{};
  if (::inet_pton(AF_INET, address.c_str(), &ip) != 1) return "not an IPv4 address: " + address;
  Fd socket{::socket(AF_PACKET, SOCK_DGRAM | SOCK_CLOEXEC, htons(ETH_P_ARP))};
  if (socket.fd < 0) return errno_text("packet socket");
  ifreq request{};
  std::strncpy(request.ifr_name, interface.c_str(), IFNAMSIZ - 1);
  if (::ioctl(socket.fd, SIOCGIFHWADDR, &request) < 0) return errno_text("SIOCGIFHWADDR");
  const unsigned index = ::if_nametoindex(interface.c_str());
  if (index == 0) return errno_text(("no interface " + interface).c_str());

  struct __attribute__((packed)) {
    std::uint16_t hardware_type, protocol_type;
    std::uint8_t hardware_length, protocol_length;
    std::uint16_t operation;
    std::uint8_t sender_mac[ETH_ALEN];
    std::uint8_t sender_ip[4];
    std::uint8_t target_mac[ETH_ALEN];
    std::uint8_t target_ip[4];
  } arp{};
  arp.hardware_type = htons(ARPHRD_ETHER);
  arp.protocol_type = htons(ETH_P_IP);
  arp.hardware_length = ETH_ALEN;
  arp.protocol_length = 4;
  arp.operation = htons(ARPOP_REQUEST);
  std::memcpy(arp.sender_mac, request.ifr_hwaddr.sa_data, ETH_ALEN);
  std::memcpy(arp.sender_ip, &ip, 4);
  std::memcpy(arp.target_ip, &ip, 4);  // gratuitous: asking for its own address

  sockaddr_ll to{};
  to.sll_family = AF_PACKET;
  to.sll_protocol = htons(ETH_P_ARP);
  to.sll_ifindex = static_cast<int>(index);
  to.sll_halen = ETH_ALEN;
  std::memset(to.sll_addr, 0xff, ETH_ALEN);
  if (::sendto(socket.fd, &arp, sizeof arp, 0, reinterpret_cast<sockaddr*>(&to), sizeof to) < 0) {
    return errno_text("sending ARP");
  }
  return {};
}

}  // namespace isla::balancer::pair
