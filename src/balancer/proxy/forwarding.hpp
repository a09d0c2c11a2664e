#pragma once
// What the balancer changes in a request on its way to a backend and in the answer on its way
// back: hop-by-hop headers (RFC 9110, 7.6.1) stay on their own connection, and the backend
// learns who the client was (X-Forwarded-For, -Proto, -Host). Pure: no sockets.
#include <string>
#include <string_view>

#include "net/http_types.hpp"

namespace isla::balancer {

inline constexpr std::string_view kForwardedForHeader = "X-Forwarded-For";
inline constexpr std::string_view kForwardedProtoHeader = "X-Forwarded-Proto";
inline constexpr std::string_view kForwardedHostHeader = "X-Forwarded-Host";

// Connection, Keep-Alive, Transfer-Encoding, TE, Trailer, Upgrade, Proxy-*, plus the framing
// headers the codec writes again itself (Content-Length, Host) and Expect (the balancer has
// read the whole body already).
bool hop_by_hop(std::string_view name);

// The IP address of a peer written "HOST:PORT" or "[V6]:PORT" (HttpRequest::remote).
std::string client_ip(std::string_view remote);

struct ForwardedFrom {
  std::string client_ip;  // appended to X-Forwarded-For
  std::string proto;      // "http" or "https": what the client spoke to the balancer
};

// The request to send to a backend: the client's method, target, body and end-to-end headers,
// X-Forwarded-For with the client appended to what earlier proxies said, X-Forwarded-Proto
// and X-Forwarded-Host set. Headers named in `drop` (a signature of the balancer's own, which
// a client must not be able to supply) are removed whatever their case.
net::HttpRequest upstream_request(const net::HttpRequest& client, const ForwardedFrom& from,
                                  std::string_view drop = {});
// The same, taking the client's headers and body instead of copying them (the proxy's path:
// the client's request is not needed afterwards); its method and target are kept.
net::HttpRequest upstream_request(net::HttpRequest&& client, const ForwardedFrom& from,
                                  std::string_view drop = {});

// The backend's answer, fit to send to the client: hop-by-hop headers removed. The answer
// to a HEAD keeps its Content-Length: the length of what a GET would bring, not of its own
// (empty) body, and the server sends it on as it is.
void clean_response(net::HttpResponse& response, bool head_request = false);

}  // namespace isla::balancer
