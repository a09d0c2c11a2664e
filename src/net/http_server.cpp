#include "net/http_server.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <unordered_set>

#include "core/parse.hpp"
#include "net/beast_codec.hpp"
#include "net/lazy_deadline.hpp"

namespace isla::net {

namespace beast = boost::beast;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;

namespace {

// Sockets bound to the concrete io_context executor: no type-erased executor to copy on
// every operation.
using Socket = asio::basic_stream_socket<tcp, asio::io_context::executor_type>;
using RequestParser = http::request_parser<http::string_body>;

constexpr std::size_t kReadChunk = 16 * 1024;
// Answers to pipelined requests are held back until the batch is read, then sent at once;
// past this size they go out anyway.
constexpr std::size_t kMaxBatchedOutput = 64 * 1024;

struct Connection {
  explicit Connection(Socket s)
      : socket(std::move(s)), deadline(socket.get_executor(), [this] {
          beast::error_code ignored;
          socket.cancel(ignored);
        }) {}
  // Whether drain() may close it: no request being handled, nothing owed to the client.
  bool idle() const { return !handling && !writing && output.empty(); }

  Socket socket;
  LazyDeadline deadline;
  Clock::time_point read_deadline;  // for the request head being read
  beast::flat_buffer input;
  std::string output;  // answers not yet sent
  bool handling = false;
  bool writing = false;
};

// Connections of one io_context; touched only from that context's thread.
struct ContextConnections {
  std::unordered_set<Connection*> open;
};

Clock::time_point request_deadline(const HttpRequest& request, std::chrono::milliseconds fallback) {
  const auto now = Clock::now();
  auto deadline = now + fallback;
  if (auto budget = request.header(kDeadlineHeader)) {
    const auto millis = core::parse_integer<long long>(*budget);
    if (millis && *millis >= 0)
      deadline = std::min(deadline, now + std::chrono::milliseconds(*millis));
  }
  return deadline;
}

bool head_done(const RequestParser& parser) {
  return parser.is_header_done();
}
bool message_done(const RequestParser& parser) {
  return parser.is_done();
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
      asio::co_spawn(target, serve(std::move(socket), index_of(target)), asio::detached);
    }
  }

  asio::awaitable<void> serve(Socket socket, std::size_t context_index) {
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
    connection.socket.shutdown(tcp::socket::shutdown_send, ignored);
    connection.socket.close(ignored);
  }

  asio::awaitable<void> exchange_requests(Connection& connection, const std::string& remote) {
    while (!draining) {
      RequestParser parser;
      parser.header_limit(static_cast<std::uint32_t>(options.max_header_bytes));
      parser.body_limit(options.max_body_bytes);
      connection.read_deadline = Clock::now() + options.header_read_timeout;
      connection.deadline.expire_at(connection.read_deadline);
      if (auto error = co_await fill(connection, parser, head_done)) {
        reject_if_malformed(connection, error);
        break;
      }
      parser.body_limit(body_limit_for(parser.get().target()));
      connection.handling = true;
      ++in_flight;
      beast::error_code body_error;
      if (!parser.is_done()) {
        parser.eager(true);
        body_error = co_await fill(connection, parser, message_done);
      }
      if (body_error) {
        reject_if_malformed(connection, body_error);
        --in_flight;
        break;
      }
      connection.deadline.expire_never();  // the handler has its own deadline
      const bool keep_alive = co_await answer(connection, parser.release(), remote);
      connection.handling = false;
      --in_flight;
      if (!keep_alive) break;
      // With the next request already here (pipelining) its answer joins this one's.
      const bool more_buffered = connection.input.size() > 0;
      if (!more_buffered || connection.output.size() >= kMaxBatchedOutput) {
        if (co_await flush(connection)) co_return;
      }
    }
    co_await flush(connection);
  }

  // Feeds the parser from the connection's buffer until `done`, reading from the socket only
  // when the buffer holds no more of the message, and sending what is owed before it waits.
  asio::awaitable<beast::error_code> fill(Connection& connection, RequestParser& parser,
                                          bool (*done)(const RequestParser&)) {
    for (;;) {
      beast::error_code error;
      if (connection.input.size() > 0) {
        const auto used = parser.put(connection.input.data(), error);
        connection.input.consume(used);
        if (error == http::error::need_more) error = {};
        if (error || done(parser)) co_return error;
        if (used > 0 && connection.input.size() > 0) continue;
      }
      if (!connection.output.empty()) {
        if (auto write_error = co_await flush(connection)) co_return write_error;
        connection.deadline.expire_at(connection.read_deadline);
      }
      if (connection.deadline.expired()) co_return beast::error::timeout;
      auto [read_error, bytes] = co_await connection.socket.async_read_some(
          connection.input.prepare(kReadChunk), use_nothrow);
      if (connection.deadline.expired()) co_return beast::error::timeout;
      if (read_error == asio::error::eof) {
        if (!parser.got_some()) co_return http::error::end_of_stream;
        parser.put_eof(error);
        if (!error && done(parser)) co_return error;
        co_return error ? error : beast::error_code(http::error::partial_message);
      }
      if (read_error) co_return read_error;
      connection.input.commit(bytes);
    }
  }

  // Sends everything owed in one write.
  asio::awaitable<beast::error_code> flush(Connection& connection) {
    if (connection.output.empty()) co_return beast::error_code{};
    connection.writing = true;
    connection.deadline.expire_after(options.write_timeout);
    auto [error, bytes] =
        co_await asio::async_write(connection.socket, asio::buffer(connection.output), use_nothrow);
    connection.output.clear();
    connection.writing = false;
    if (connection.deadline.expired()) error = beast::error::timeout;
    co_return error;
  }

  std::uint64_t body_limit_for(std::string_view target) const {
    for (const auto& [prefix, limit] : options.body_limits_by_prefix) {
      if (target.starts_with(prefix)) return limit;
    }
    return options.max_body_bytes;
  }

  // Queues the 4xx for a request the parser refused. Timeouts and EOF close quietly: a slow
  // client gets nothing more.
  void reject_if_malformed(Connection& connection, beast::error_code error) {
    const bool quiet = error == http::error::end_of_stream || error == beast::error::timeout ||
                       error == asio::error::operation_aborted ||
                       error == asio::error::connection_reset || error == asio::error::eof;
    if (quiet) return;
    auto rejection = to_beast(parse_failure_response(error), 11, false);
    append_serialized(rejection, connection.output);
  }

  asio::awaitable<bool> answer(Connection& connection, BeastRequest&& beast_request,
                               const std::string& remote) {
    const unsigned version = beast_request.version();
    const bool client_keep_alive = beast_request.keep_alive();
    const bool head_request = beast_request.method() == http::verb::head;
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
    auto message = to_beast(std::move(response), version, keep_alive);
    if (head_request) {
      append_serialized_head(message, connection.output);
    } else {
      append_serialized(message, connection.output);
    }
    co_return keep_alive;
  }

  // Chunked transfer of a streamed body; the connection closes afterwards, so a stream
  // never holds up a keep-alive exchange.
  asio::awaitable<void> send_stream(Connection& connection, HttpResponse&& response,
                                    unsigned version) {
    if (co_await flush(connection)) co_return;
    auto stream = std::move(response.stream);
    response.body.clear();
    auto head = to_beast(std::move(response), version, false);
    head.chunked(true);
    http::response_serializer<http::string_body> serializer(head);
    connection.deadline.expire_after(options.write_timeout);
    auto [head_error, head_bytes] =
        co_await http::async_write_header(connection.socket, serializer, use_nothrow);
    if (head_error) co_return;
    while (!draining) {
      auto chunk = co_await stream();
      if (!chunk || draining) break;
      if (chunk->empty()) continue;
      connection.deadline.expire_after(options.write_timeout);
      auto [error, bytes] = co_await asio::async_write(
          connection.socket, http::make_chunk(asio::buffer(*chunk)), use_nothrow);
      if (error || connection.deadline.expired()) co_return;
    }
    connection.deadline.expire_after(options.write_timeout);
    co_await asio::async_write(connection.socket, http::make_chunk_last(), use_nothrow);
  }

  void close_idle_connections(std::size_t context_index) {
    for (auto* connection : per_context[context_index].open) {
      if (connection->idle()) {
        beast::error_code ignored;
        connection->socket.cancel(ignored);
      }
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
