#pragma once
// Where consistent hashing finds a request's affinity key: `cookie:NAME` (a session cookie)
// or `header:NAME`. Pure.
#include <optional>
#include <string>
#include <string_view>

#include "net/http_types.hpp"

namespace isla::balancer {

struct HashKeySpec {
  enum class Source { cookie, header };
  Source source = Source::cookie;
  std::string name;
};

// Parses "cookie:NAME" or "header:NAME"; throws std::invalid_argument saying what is wrong.
// NAME must be an HTTP token (RFC 9110, 5.6.2), at most 256 bytes.
HashKeySpec parse_hash_key(std::string_view text);

// The value of cookie `name` in a Cookie header ("a=1; b=2"), if present.
std::optional<std::string_view> cookie_value(std::string_view cookie_header, std::string_view name);

// The request's key by `spec`; nullopt when the request has none (it is then placed at random).
std::optional<std::string_view> hash_key(const net::HttpRequest& request, const HashKeySpec& spec);

}  // namespace isla::balancer
