#pragma once
// HTTP/1.1 client on Asio coroutines with a keep-alive connection pool per io_context.
#include <chrono>
#include <optional>
#include <string>

#include "core/endpoint.hpp"
#include "net/asio.hpp"
#include "net/http_types.hpp"

namespace isla::net {

struct HttpClientOptions {
  std::chrono::milliseconds connect_timeout{1000};
  // Pooled connections idle longer than this are dropped; keep it below the servers'
  // header_read_timeout so the client, not the server, closes them.
  std::chrono::milliseconds pool_idle_timeout{4000};
  std::size_t max_idle_per_endpoint = 64;
  std::size_t max_response_bytes = 8 * 1024 * 1024;
};

enum class ClientErrorKind {
  none,
  connect,   // could not open a connection: refused, unreachable, connect timeout
  timeout,   // the deadline passed while waiting for the response
  io,        // the connection broke after the request was (partly) sent
  protocol,  // the peer sent something that is not a valid HTTP response
};

struct ClientResult {
  std::optional<HttpResponse> response;
  ClientErrorKind error = ClientErrorKind::none;
  std::string message;

  bool ok() const { return response.has_value(); }
};

class HttpClient {
 public:
  explicit HttpClient(HttpClientOptions options = {}) : options_(options) {}

  // Sends one request and waits for its response until `deadline`. A request on a pooled
  // connection that the server had already closed is sent once more on a new connection
  // when the method is idempotent.
  asio::awaitable<ClientResult> request(const core::Endpoint& to, const HttpRequest& request,
                                        std::chrono::steady_clock::time_point deadline) const;

 private:
  HttpClientOptions options_;
};

// For command-line use: runs one request on a private io_context and returns its result.
ClientResult fetch(const core::Endpoint& to, const HttpRequest& request,
                   std::chrono::milliseconds timeout);

}  // namespace isla::net
