#pragma once
// A host:port pair as written on command lines and in datagrams.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace isla::core {

struct Endpoint {
  std::string host;  // an IP literal or a name; IPv6 without brackets
  std::uint16_t port = 0;

  std::string str() const;
  friend bool operator==(const Endpoint&, const Endpoint&) = default;
  friend auto operator<=>(const Endpoint&, const Endpoint&) = default;
};

// Parses "host:port", "[v6]:port", or a bare host when default_port is given.
std::optional<Endpoint> parse_endpoint(std::string_view text, std::uint16_t default_port = 0);

// Parses a comma-separated list; throws std::invalid_argument naming the bad element.
std::vector<Endpoint> parse_endpoint_list(std::string_view text, std::uint16_t default_port = 0);

}  // namespace isla::core
