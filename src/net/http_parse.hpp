#pragma once
// Parsing a whole request from bytes with the server's limits: the fuzzers' entry point
// and the reference for what the server accepts.
#include <string_view>
#include <variant>

#include "net/http_server.hpp"

namespace isla::net {

// A request, or the error response the server would send for these bytes.
std::variant<HttpRequest, HttpResponse> parse_request(std::string_view bytes,
                                                      const HttpServerOptions& limits);

}  // namespace isla::net
