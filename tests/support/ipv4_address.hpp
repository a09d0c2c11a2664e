#pragma once
// The sockaddr of an IPv4 HOST:PORT, for tests that speak through raw sockets.
#include <arpa/inet.h>
#include <netinet/in.h>

#include <stdexcept>

#include "core/endpoint.hpp"

namespace isla::testing {

inline sockaddr_in address_of(const core::Endpoint& endpoint) {
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(endpoint.port);
  if (inet_pton(AF_INET, endpoint.host.c_str(), &address.sin_addr) != 1) {
    throw std::invalid_argument("not an IPv4 address: " + endpoint.host);
  }
  return address;
}

}  // namespace isla::testing
