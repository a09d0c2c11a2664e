#pragma once
// HTTP/1.1 server on Asio coroutines: keep-alive, size limits, slow-client timeouts,
// per-request deadlines and a graceful drain.
#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/endpoint.hpp"
#include "net/asio.hpp"
#include "net/http_types.hpp"
#include "net/io_pool.hpp"
#include "net/tls.hpp"

namespace isla::net {

struct HttpServerOptions {
  std::size_t max_header_bytes = 8 * 1024;   // larger request heads get 431
  std::size_t max_body_bytes = 1024 * 1024;  // larger bodies get 413
  // Routes that take larger bodies (Raft's snapshots between gateways): a path prefix and
  // its own limit, checked after the head is read.
  std::vector<std::pair<std::string, std::size_t>> body_limits_by_prefix;
  // A connection must deliver a complete request head within this time of the previous
  // response (or of connecting), or it is closed: it bounds idle keep-alive and slowloris.
  std::chrono::milliseconds header_read_timeout{10'000};
  std::chrono::milliseconds request_timeout{
      30'000};  // a handler's budget when the caller sets none
  std::chrono::milliseconds write_timeout{10'000};
  std::chrono::milliseconds drain_timeout{10'000};  // how long drain() waits for in-flight work
  // Called with each request's head (no body yet) as soon as it is read: an answer refuses
  // the request (the connection then closes, its body unread), nullopt lets it in. What it
  // sets in the head's `principal` is kept for the whole request, and so is its `remote`,
  // which it may change to the client a trusted proxy forwards for.
  std::function<std::optional<HttpResponse>(HttpRequest& head)> admit;
  // Open connections beyond which new ones are closed as soon as they are accepted. An idle
  // connection costs a descriptor and ~20 KB, so the listener cap keeps a flood well inside
  // the default descriptor limit (20,000 here; two per proxied request on a gateway) and a
  // few hundred MB. The per-source cap keeps one address from taking them all; it is high
  // because loopback tests and benchmarks (wrk -c 64..512) all come from 127.0.0.1, and a
  // NAT may put many honest clients behind one address.
  std::size_t max_connections = 10'000;
  std::size_t max_connections_per_source = 1'000;
  // Where a connection is to be served from once it has carried a given request: the
  // context whose thread that request's handler works on (Raft's message batches go to the
  // Raft loop), so that neither the request nor its answer waits for another thread to wake
  // up. Null keeps it where it is. Asked with each admitted request head on a plain (not
  // TLS) connection; what it owes for earlier requests is sent before it moves, and the
  // request is read on and answered from its new context, where the connection stays. That
  // context must outlive the server's drain().
  std::function<asio::io_context*(const HttpRequest& head)> relocate;
  // HTTPS when set (make_server_tls): every connection starts with a TLS handshake, which
  // must finish within header_read_timeout.
  std::shared_ptr<TlsContext> tls;
};

// Connections closed at accept because a cap was reached, since the server started.
struct RefusedConnections {
  std::uint64_t listener = 0;  // max_connections
  std::uint64_t source = 0;    // max_connections_per_source
};

using RequestHandler = std::function<asio::awaitable<HttpResponse>(HttpRequest&)>;

class HttpServer {
 public:
  HttpServer(IoPool& pool, core::Endpoint listen, HttpServerOptions options,
             RequestHandler handler);
  ~HttpServer();

  // Binds and starts accepting; throws std::runtime_error naming the address on failure.
  void start();
  std::uint16_t port() const;
  std::size_t in_flight() const;
  std::size_t connections() const;
  RefusedConnections refused_connections() const;
  // Bytes of streamed bodies produced and not yet taken by their sockets, over all streams.
  std::size_t stream_unsent_bytes() const;
  bool draining() const;

  // Stops accepting now, so that the address can be bound again at once (the balancer's
  // service address moving to its standby); what is open goes on until drain(). Call it on
  // the pool's main context, where the listener lives.
  void close_listener();

  // Stops accepting, closes idle connections, answers in-flight requests with
  // "Connection: close", and completes when every connection is gone or drain_timeout
  // passed. Returns true when nothing was cut off.
  asio::awaitable<bool> drain();

  struct Impl;

 private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace isla::net
