#pragma once
// HTTP/1.1 client on Asio coroutines with a keep-alive connection pool per io_context.
#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "core/endpoint.hpp"
#include "net/asio.hpp"
#include "net/http_types.hpp"
#include "net/tls.hpp"

namespace isla::net {

// Told of every request a client sends, for metrics; called on the sending thread.
class HttpClientObserver {
 public:
  virtual ~HttpClientObserver() = default;
  // `pipelined`: it was queued behind requests already in flight on its connection.
  virtual void on_request_sent(bool pipelined) = 0;
};

struct HttpClientOptions {
  std::chrono::milliseconds connect_timeout{1000};
  // Pooled connections idle longer than this are dropped; keep it below the servers'
  // header_read_timeout so the client, not the server, closes them.
  std::chrono::milliseconds pool_idle_timeout{4000};
  std::size_t max_idle_per_endpoint = 64;
  std::size_t max_response_bytes = 8 * 1024 * 1024;
  // HTTP/1.1 pipelining: how many requests may be in flight on one connection. With 1, a
  // request waits for nothing: it takes an idle connection or opens one. With more, an
  // idempotent request joins requests to its endpoint queued and not yet sent (made in the
  // same turn of the event loop), and once `connections_per_endpoint` connections are busy,
  // queues behind others on the least loaded one; a batch of them travels in one packet
  // each way. The price is head-of-line blocking: a slow answer delays those behind it, and
  // a request that times out takes its connection (and, after a retry, not their answers)
  // with it.
  std::size_t pipeline_depth = 1;
  std::size_t connections_per_endpoint = 2;      // per endpoint and io_context, when pipelining
  std::shared_ptr<HttpClientObserver> observer;  // optional
  // The IP address connections are made from. Empty, a host name or a wildcard address
  // leaves it to the system, which on loopback says 127.0.0.1 for every process.
  std::string local_address;
  // Signs every request with the island secret (node-to-node calls); null sends them as
  // they are (the command-line client, which carries a token instead).
  std::shared_ptr<const RequestSigner> signer;
  // HTTPS when set (make_client_tls): every peer must prove it is the address or name
  // connected to with a certificate from the context's CA.
  std::shared_ptr<TlsContext> tls;
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

  // Sends one request and waits for its response until `deadline`. An idempotent request
  // (HttpRequest::idempotent, else by its method) whose connection ended before any of its
  // answer came (a pooled connection the server had closed, or one dropped because another
  // request on it timed out) is sent once more on a new connection.
  asio::awaitable<ClientResult> request(const core::Endpoint& to, const HttpRequest& request,
                                        std::chrono::steady_clock::time_point deadline) const;

 private:
  HttpClientOptions options_;
};

// For command-line use: runs one request on a private io_context and returns its result.
ClientResult fetch(const core::Endpoint& to, const HttpRequest& request,
                   std::chrono::milliseconds timeout, const HttpClientOptions& options = {});

}  // namespace isla::net
