#pragma once
// Beast's side of isla's messages; included only by net/*.cpp. Requests and answers are
// parsed by message_parsers.hpp and written by http_serialize.hpp.
#include <boost/beast/http.hpp>

#include "net/http_types.hpp"

namespace isla::net {

namespace http = boost::beast::http;

using BeastResponse = http::response<http::string_body>;

// For a streamed answer's head, which Beast's serializer writes with chunked framing; whole
// messages are written by http_serialize.hpp.
BeastResponse to_beast(HttpResponse&& response, unsigned version, bool keep_alive);

// Status and message for a request the parser rejected.
HttpResponse parse_failure_response(const boost::system::error_code& error);

}  // namespace isla::net
