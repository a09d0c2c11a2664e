#pragma once
// What the admin API accepts to change the backends at run time (docs/api.md#balancer).
// Pure: bad input comes back as a message for the 400, never as an exception.
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "core/endpoint.hpp"

namespace isla::balancer {

struct BackendSpec {
  core::Endpoint endpoint;
  int weight = 1;
};

// A backend's address: "HOST:PORT" with an IP literal or a name, and a port from 1 to
// 65535; or a message naming what is wrong.
std::variant<core::Endpoint, std::string> parse_backend_address(std::string_view text);

// The body of POST /api/backends: {"address":"host:port","weight":N}, weight optional
// (default 1, range 1..256); or a message naming the field that is wrong.
std::variant<BackendSpec, std::string> parse_backend_body(std::string_view body);

// The --backends flag: "HOST:PORT[=WEIGHT],...". Throws std::invalid_argument naming the bad
// element; duplicates are refused too.
std::vector<BackendSpec> parse_backend_list(std::string_view text);

}  // namespace isla::balancer
