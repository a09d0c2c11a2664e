#pragma once
// Conversions between Beast messages and isla's plain ones; included only by net/*.cpp.
#include <boost/beast/http.hpp>

#include "net/http_types.hpp"

namespace isla::net {

namespace http = boost::beast::http;

using BeastRequest = http::request<http::string_body>;
using BeastResponse = http::response<http::string_body>;

HttpRequest from_beast(BeastRequest&& request);
HttpResponse from_beast(BeastResponse&& response);
// For a streamed answer's head, which Beast's serializer writes with chunked framing; whole
// messages are written by http_serialize.hpp.
BeastResponse to_beast(HttpResponse&& response, unsigned version, bool keep_alive);

// Status and message for a request the parser rejected.
HttpResponse parse_failure_response(const boost::system::error_code& error);

}  // namespace isla::net
