#include "net/http_server.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <unordered_set>

#include "core/parse.hpp"
#include "net/beast_codec.hpp"

namespace isla::net {

namespace beast = boost::beast;
using tcp = asio::ip::tcp;

namespace {

struct Connection {
  explicit Connection(tcp::socket socket) : stream(std::move(socket)) {}
  beast::tcp_stream stream;
  bool busy = false;  // between reading a request head and writing its response
};

// Connections of one io_context; touched only from that context's thread.
struct ContextConnections {
  std::unordered_set<Connection*> open;
};

std::chrono::steady_clock::time_point request_deadline(const HttpRequest& request,
                                                       std::chrono::milliseconds fallback) {
  const auto now = std::chrono::steady_clock::now();
  auto deadline = now + fallback;
  if (auto budget = request.header(kDeadlineHeader)) {
    const auto millis = core::parse_integer<long long>(*budget);
    if (millis && *millis >= 0)
      deadline = std::min(deadline, now + std::chrono::milliseconds(*millis));
  }
  return deadline;
}

}  // namespace

struct HttpServer::Impl : std::enable_shared_from_this<HttpServer::Impl> {
  IoPool& pool;
  core::Endpoint listen;
  HttpServerOptions options;
  RequestHandler handler;
  std::unique_ptr<tcp::acceptor> acceptor;
  std::vector<ContextConnections> per_context;
  std::atomic<std::size_t> in_flight{0};
  std::atomic<std::size_t> connections{0};
  std::atomic<bool> draining{false};
  std::uint16_t bound_port = 0;

  Impl(IoPool& p, core::Endpoint l, HttpServerOptions o, RequestHandler h)
      : pool(p), listen(std::move(l)), options(o), handler(std::move(h)), per_context(p.size()) {}

  std::size_t index_of(asio::io_context& context) {
    for (std::size_t i = 0; i < pool.size(); ++i) {
      if (&pool.context(i) == &context) return i;
    }
    return 0;
  }

  asio::awaitable<void> accept_loop() {
    auto self = shared_from_this();
    while (!draining) {
      auto& target = pool.next();
      auto [error, socket] = co_await acceptor->async_accept(target, use_nothrow);
      if (error == asio::error::operation_aborted || draining) break;
      if (error) {
        // Out of descriptors or a transient network error: back off briefly, keep serving.
        spdlog::warn("accept failed error=\"{}\"", error.message());
        co_await sleep_for(std::chrono::milliseconds(50));
        continue;
      }
      asio::co_spawn(target, serve(tcp::socket(std::move(socket)), index_of(target)),
                     asio::detached);
    }
  }

  asio::awaitable<void> serve(tcp::socket socket, std::size_t context_index) {
    auto self = shared_from_this();
    beast::error_code ignored;
    socket.set_option(tcp::no_delay(true), ignored);
    std::string remote;
    if (auto peer = socket.remote_endpoint(ignored); !ignored) {
      remote = peer.address().to_string() + ":" + std::to_string(peer.port());
    }
    Connection connection(std::move(socket));
    auto& registry = per_context[context_index].open;
    registry.insert(&connection);
    ++connections;
    co_await exchange_requests(connection, remote);
    registry.erase(&connection);
    --connections;
    connection.stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
    connection.stream.close();
  }

  asio::awaitable<void> exchange_requests(Connection& connection, const std::string& remote) {
    beast::flat_buffer buffer;
    for (;;) {
      if (draining) co_return;
      http::request_parser<http::string_body> parser;
      parser.header_limit(static_cast<std::uint32_t>(options.max_header_bytes));
      parser.body_limit(options.max_body_bytes);
      connection.stream.expires_after(options.header_read_timeout);
      auto [head_error, head_bytes] =
          co_await http::async_read_header(connection.stream, buffer, parser, use_nothrow);
      if (head_error) {
        co_await reject_if_malformed(connection, head_error);
        co_return;
      }
      parser.body_limit(body_limit_for(parser.get().target()));
      connection.busy = true;
      ++in_flight;
      beast::error_code body_error;
      if (!parser.is_done()) {
        std::tie(body_error, std::ignore) =
            co_await http::async_read(connection.stream, buffer, parser, use_nothrow);
      }
      if (body_error) {
        co_await reject_if_malformed(connection, body_error);
        --in_flight;
        co_return;
      }
      const bool keep_alive = co_await answer(connection, parser.release(), remote);
      --in_flight;
      connection.busy = false;
      if (!keep_alive) co_return;
    }
  }

  std::uint64_t body_limit_for(std::string_view target) const {
    for (const auto& [prefix, limit] : options.body_limits_by_prefix) {
      if (target.starts_with(prefix)) return limit;
    }
    return options.max_body_bytes;
  }

  // Sends the 4xx for a request the parser refused. Timeouts and EOF close quietly: on a
  // timeout Beast has already closed the socket, and a slow client gets nothing more.
  asio::awaitable<void> reject_if_malformed(Connection& connection, beast::error_code error) {
    const bool quiet = error == http::error::end_of_stream || error == beast::error::timeout ||
                       error == asio::error::operation_aborted ||
                       error == asio::error::connection_reset || error == asio::error::eof;
    if (quiet) co_return;
    // Named, not a temporary in the co_await expression: GCC 12 mis-destroys those.
    auto rejection = parse_failure_response(error);
    co_await send(connection, std::move(rejection), 11, false);
  }

  asio::awaitable<bool> answer(Connection& connection, BeastRequest&& beast_request,
                               const std::string& remote) {
    const unsigned version = beast_request.version();
    const bool client_keep_alive = beast_request.keep_alive();
    HttpRequest request = from_beast(std::move(beast_request));
    request.remote = remote;
    request.deadline = request_deadline(request, options.request_timeout);
    HttpResponse response;
    try {
      response = co_await handler(request);
    } catch (const std::exception& error) {
      spdlog::error("handler failed target=\"{}\" error=\"{}\"", request.target, error.what());
      response = json_error(500, "internal error while handling the request");
    }
    if (response.stream) {
      co_await send_stream(connection, std::move(response), version);
      co_return false;
    }
    const bool keep_alive = client_keep_alive && !draining;
    co_return co_await send(connection, std::move(response), version, keep_alive) && keep_alive;
  }

  // Chunked transfer of a streamed body; the connection closes afterwards, so a stream
  // never holds up a keep-alive exchange.
  asio::awaitable<void> send_stream(Connection& connection, HttpResponse&& response,
                                    unsigned version) {
    auto stream = std::move(response.stream);
    response.body.clear();
    auto head = to_beast(std::move(response), version, false);
    head.chunked(true);
    http::response_serializer<http::string_body> serializer(head);
    connection.stream.expires_after(options.write_timeout);
    auto [head_error, head_bytes] =
        co_await http::async_write_header(connection.stream, serializer, use_nothrow);
    if (head_error) co_return;
    while (!draining) {
      auto chunk = co_await stream();
      if (!chunk || draining) break;
      if (chunk->empty()) continue;
      connection.stream.expires_after(options.write_timeout);
      auto [error, bytes] = co_await asio::async_write(
          connection.stream, http::make_chunk(asio::buffer(*chunk)), use_nothrow);
      if (error) co_return;
    }
    connection.stream.expires_after(options.write_timeout);
    co_await asio::async_write(connection.stream, http::make_chunk_last(), use_nothrow);
  }

  asio::awaitable<bool> send(Connection& connection, HttpResponse&& response, unsigned version,
                             bool keep_alive) {
    auto message = to_beast(std::move(response), version, keep_alive);
    connection.stream.expires_after(options.write_timeout);
    auto [error, bytes] = co_await http::async_write(connection.stream, message, use_nothrow);
    co_return !error;
  }

  void close_idle_connections(std::size_t context_index) {
    for (auto* connection : per_context[context_index].open) {
      if (!connection->busy) connection->stream.socket().cancel();
    }
  }
};

HttpServer::HttpServer(IoPool& pool, core::Endpoint listen, HttpServerOptions options,
                       RequestHandler handler)
    : impl_(std::make_shared<Impl>(pool, std::move(listen), options, std::move(handler))) {}

HttpServer::~HttpServer() {
  if (impl_->acceptor) {
    beast::error_code ignored;
    impl_->acceptor->close(ignored);
  }
}

void HttpServer::start() {
  beast::error_code error;
  const auto address = asio::ip::make_address(impl_->listen.host, error);
  if (error) {
    throw std::runtime_error("cannot listen on " + impl_->listen.str() +
                             ": not an IP address (use e.g. 127.0.0.1:5235)");
  }
  // One acceptor hands connections round-robin to the pool's contexts. SO_REUSEPORT
  // acceptors would spread the accepts too, but they would also let a second isla
  // process silently share the port instead of failing to bind.
  auto acceptor = std::make_unique<tcp::acceptor>(impl_->pool.main());
  const tcp::endpoint endpoint(address, impl_->listen.port);
  acceptor->open(endpoint.protocol(), error);
  if (!error) acceptor->set_option(asio::socket_base::reuse_address(true), error);
  if (!error) acceptor->bind(endpoint, error);
  if (!error) acceptor->listen(asio::socket_base::max_listen_connections, error);
  if (error) {
    throw std::runtime_error("cannot listen on " + impl_->listen.str() + ": " + error.message());
  }
  impl_->bound_port = acceptor->local_endpoint().port();
  impl_->acceptor = std::move(acceptor);
  asio::co_spawn(impl_->pool.main(), impl_->accept_loop(), asio::detached);
}

std::uint16_t HttpServer::port() const {
  return impl_->bound_port;
}
std::size_t HttpServer::in_flight() const {
  return impl_->in_flight;
}
std::size_t HttpServer::connections() const {
  return impl_->connections;
}
bool HttpServer::draining() const {
  return impl_->draining;
}

asio::awaitable<bool> HttpServer::drain() {
  auto impl = impl_;
  impl->draining = true;
  asio::post(impl->pool.main(), [impl] {
    beast::error_code ignored;
    if (impl->acceptor) impl->acceptor->close(ignored);
  });
  const auto give_up = std::chrono::steady_clock::now() + impl->options.drain_timeout;
  while (impl->connections > 0 && std::chrono::steady_clock::now() < give_up) {
    for (std::size_t i = 0; i < impl->pool.size(); ++i) {
      asio::post(impl->pool.context(i), [impl, i] { impl->close_idle_connections(i); });
    }
    co_await sleep_for(std::chrono::milliseconds(5));
  }
  co_return impl->connections == 0;
}

}  // namespace isla::net
