#pragma once
// Conversions between Beast messages and isla's plain ones; included only by net/*.cpp.
#include <boost/beast/http.hpp>

#include "net/http_types.hpp"

namespace isla::net {

namespace http = boost::beast::http;

using BeastRequest = http::request<http::string_body>;
using BeastResponse = http::response<http::string_body>;

HttpRequest from_beast(BeastRequest&& request);
BeastRequest to_beast(const HttpRequest& request, const std::string& host);
HttpResponse from_beast(BeastResponse&& response);
BeastResponse to_beast(HttpResponse&& response, unsigned version, bool keep_alive);

// Appends the message's bytes as Beast serializes them to `out`: responses (and requests)
// collected in one buffer leave in one send, and a pipelined batch in one packet.
void append_serialized(BeastRequest& message, std::string& out);
void append_serialized(BeastResponse& message, std::string& out);
// The head alone, Content-Length included: the answer to a HEAD request.
void append_serialized_head(BeastResponse& message, std::string& out);

// Status and message for a request the parser rejected.
HttpResponse parse_failure_response(const boost::system::error_code& error);

}  // namespace isla::net
