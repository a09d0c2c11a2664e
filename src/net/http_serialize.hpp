#pragma once
// isla's own messages written straight into an output buffer, in the framing Beast's
// serializer gives them after to_beast() (beast_codec.hpp), without building a Beast message
// first. Measured with callgrind on `isla balancer`: building Beast's field list and running
// its buffer-sequence serializer took a third of the user-space instructions of a proxied
// request (docs/benchmarks.md, "Serializing without Beast messages"). Parsing stays Beast's.
//
// What the two share, so that a message leaves as before:
// - a header that appears more than once is sent once, with its last value (Beast's set());
// - the framing headers are the serializer's, never the caller's: Content-Length from the
//   body (Beast's prepare_payload()), no Transfer-Encoding, Connection from keep-alive;
// - a header whose name is not a token, or whose value holds a control character (CR and LF
//   among them), is not sent: it could split the message (request smuggling) or make the
//   receiver refuse it, and no isla header needs one.
#include <optional>
#include <string>
#include <string_view>

#include "net/http_types.hpp"

namespace isla::net {

// A request as an HTTP/1.1 client sends it on a keep-alive connection to `host` (its Host
// header, unless the request names one), plus `extra` headers that replace any of the same
// name (a signature computed for this attempt).
void append_request(const HttpRequest& request, std::string_view host, std::string& out,
                    const Headers& extra = {});

// A response to a request of HTTP version `version` (10 or 11, as Beast counts): `Server: isla` and
// the content type unless its headers say otherwise, `Connection` as `keep_alive` needs it. With
// `head_only` only the head is written, its Content-Length `announced_length` when given (a HEAD
// request's answer, RFC 9110 9.3.2), else the body's. 1xx, 204 and 304 answers never carry
// a body or a Content-Length.
void append_response(const HttpResponse& response, unsigned version, bool keep_alive,
                     std::string& out, bool head_only = false,
                     std::optional<std::uint64_t> announced_length = std::nullopt);

}  // namespace isla::net
