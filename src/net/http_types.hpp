#pragma once
// Plain HTTP message types. They keep Boost.Beast out of every translation unit but net/'s own.
#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "net/asio.hpp"

namespace isla::net {

using Headers = std::vector<std::pair<std::string, std::string>>;

// Header names used across isla (see docs/api.md).
inline constexpr std::string_view kRequestIdHeader = "Isla-Request-Id";
inline constexpr std::string_view kHopsHeader = "Isla-Hops";
inline constexpr std::string_view kDeadlineHeader = "Isla-Deadline-Ms";

struct HttpRequest {
  std::string method = "GET";
  std::string target = "/";  // path plus optional ?query, as sent
  Headers headers;
  std::string body;
  // When the server must have answered; set by the server from its request timeout and
  // the caller's Isla-Deadline-Ms, whichever comes first.
  std::chrono::steady_clock::time_point deadline = std::chrono::steady_clock::time_point::max();
  std::string remote;  // peer address, for logs
  // Client side: whether it may be sent again after its connection ended before any answer
  // came. Unset, its method decides (RFC 9110, 9.2.2); a typed call says it from its
  // rpc::Method, whose verb may be POST for an idempotent call, or GET for one that is not.
  std::optional<bool> idempotent;
  // Server side: who the request was admitted as ("node:HOST:PORT", "token:SUBJECT/ROLE",
  // or empty for an anonymous caller), for handlers that log or audit what they do.
  std::string principal;

  std::optional<std::string_view> header(std::string_view name) const;
  std::string_view path() const;
  std::string_view query() const;
};

// Signs requests a client sends to other nodes (security::RequestSigner is the real one):
// the value of the header that authenticates `request` when sent to `destination`.
class RequestSigner {
 public:
  virtual ~RequestSigner() = default;
  virtual std::string authorization(const HttpRequest& request,
                                    std::string_view destination) const = 0;
};

// What a streamed body sees of its client's progress. The server asks for the next chunk as
// soon as the previous one is queued, not once it is sent, so that a stream that waits for
// news (a watch) takes it when it comes; a stream that produces faster than its client reads
// must therefore look here, or its chunks pile up in the server's memory.
class StreamBacklog {
 public:
  virtual ~StreamBacklog() = default;
  // Bytes produced that the socket has not taken yet (queued, or being written).
  virtual std::size_t unsent_bytes() const = 0;
  // Completes once at most `bytes` are unsent, or once the connection has failed (the
  // stream's next chunk is then discarded).
  virtual asio::awaitable<void> wait_unsent_at_most(std::size_t bytes) = 0;
  // The body cannot be completed (its source broke: a proxied backend died mid-stream). What
  // was produced is still sent, then the connection closes without the last chunk, so the
  // client sees a truncated body rather than a clean end. The stream is not asked again.
  virtual void abort() = 0;

  // Whether a chunk of `bytes` would take the unsent bytes past `limit`. A chunk into an
  // empty backlog never does, however large: its client is not behind.
  bool would_exceed(std::size_t bytes, std::size_t limit) const {
    const std::size_t unsent = unsent_bytes();
    return unsent > 0 && unsent + bytes > limit;
  }
};

// A body produced over time, as server-sent events are: each call returns the next chunk
// to send, or nullopt at the end of the stream.
using BodyStream = std::function<asio::awaitable<std::optional<std::string>>(StreamBacklog&)>;

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  Headers headers;
  std::string body;
  // When set, the server sends the head and then the chunks `stream` produces instead of
  // `body`, and closes the connection when it ends (or when the server drains).
  BodyStream stream;

  std::optional<std::string_view> header(std::string_view name) const;
};

// Header names compare without regard to case (RFC 9110, 5.1).
bool same_header_name(std::string_view a, std::string_view b);

// A JSON error body {"error": message} with the given status, as every isla error looks.
HttpResponse json_error(int status, std::string_view message);
HttpResponse json_response(int status, std::string body);

// `text` with every byte that is not part of valid UTF-8 replaced by U+FFFD.
std::string valid_utf8(std::string_view text);
// Whether `text` is valid UTF-8 already (no copy made).
bool is_valid_utf8(std::string_view text);

// Decodes %XX escapes; nullopt for malformed escapes or a decoded NUL byte.
std::optional<std::string> percent_decode(std::string_view text);
// `text` with every byte but A-Z a-z 0-9 - . _ ~ as %XX, for a path segment or a query.
std::string percent_encode(std::string_view text);

// The value of one query parameter (undecoded), if present.
std::optional<std::string_view> query_param(std::string_view query, std::string_view name);

}  // namespace isla::net
