#include "net/http_server.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <deque>
#include <map>
#include <mutex>
#include <unordered_set>

#include <unistd.h>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include "core/parse.hpp"
#include "net/beast_codec.hpp"
#include "net/host_names.hpp"
#include "net/http_serialize.hpp"
#include "net/lazy_deadline.hpp"
#include "net/request_reader.hpp"
#include "net/tls_stream.hpp"

namespace isla::net {

namespace beast = boost::beast;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;
using namespace asio::experimental::awaitable_operators;

namespace {

// Sockets bound to the concrete io_context executor: no type-erased executor to copy on
// every operation.
using Socket = asio::basic_stream_socket<tcp, asio::io_context::executor_type>;
using Progress = RequestReader::Progress;

// After a flood of connections has gone, the memory their buffers and coroutine frames took
// sits in glibc's per-thread arenas, free but still resident, unless trimmed. A trim is due
// once the count has fallen to half a high-water mark of at least this many connections;
// it runs a moment later, so a burst of closes leads to one trim.
constexpr std::size_t kTrimHighWater = 512;
constexpr auto kTrimDelay = std::chrono::milliseconds(500);

// Answers to pipelined requests are held back until the batch is read, then sent at once;
// past this size they go out anyway.
constexpr std::size_t kMaxBatchedOutput = 64 * 1024;

struct Connection {
  // `reader` is the one of a connection that moved here from another context, with what it
  // has received and not parsed yet; a new connection gets a new one.
  Connection(Socket s, const HttpServerOptions& limits, std::unique_ptr<RequestReader> moved)
      : socket(std::move(s), limits.tls.get()),
        deadline(socket.get_executor(),
                 [this] {
                   beast::error_code ignored;
                   socket.cancel(ignored);
                 }),
        reader(moved ? std::move(moved) : std::make_unique<RequestReader>(limits)) {}
  // Whether drain() may close it: no request being handled, nothing owed to the client.
  bool idle() const { return !handling && !writing && output.empty(); }

  MaybeTlsStream socket;
  LazyDeadline deadline;
  Clock::time_point read_deadline;  // for the request head being read
  std::unique_ptr<RequestReader> reader;
  std::string output;  // answers not yet sent
  bool handling = false;
  bool writing = false;
};

// Connections of one io_context; touched only from that context's thread.
struct ContextConnections {
  std::unordered_set<Connection*> open;
};

// A request whose head has been read and admitted: who it was admitted as, the client it is
// from, and by when the rest of it must arrive.
struct Admitted {
  std::string principal;
  std::string client;
  Clock::time_point read_deadline;
};

// A connection leaving for another context (HttpServerOptions::relocate) with its reader:
// the head it has admitted, the body bytes and later requests it has read.
struct Handover {
  asio::io_context* home = nullptr;
  Admitted first;
  std::unique_ptr<RequestReader> reader;
};

// The chunks of a streamed body that the socket has not taken yet, between the coroutine
// that asks the stream for them and the one that writes them (both on the connection's
// thread). What it holds counts in the server's total until sent or dropped.
class StreamQueue final : public StreamBacklog {
 public:
  StreamQueue(asio::io_context::executor_type executor, std::atomic<std::size_t>& total)
      : wake_(executor, Clock::time_point::max()), total_(total) {}
  ~StreamQueue() override { drop(); }
  StreamQueue(const StreamQueue&) = delete;
  StreamQueue& operator=(const StreamQueue&) = delete;

  std::size_t unsent_bytes() const override { return unsent_; }
  asio::awaitable<void> wait_unsent_at_most(std::size_t bytes) override {
    while (unsent_ > bytes && !failed_) co_await wait();
  }

  bool empty() const { return chunks_.empty(); }
  const std::string& front() const { return chunks_.front(); }
  void push(std::string chunk) {
    add(chunk.size());
    chunks_.push_back(std::move(chunk));
    notify();
  }
  void pop() {
    remove(chunks_.front().size());
    chunks_.pop_front();
    notify();
  }
  // The stream has ended: once the queue is empty, so has the body.
  void finish() {
    finished_ = true;
    notify();
  }
  bool finished() const { return finished_; }
  void abort() override {
    aborted_ = true;
    finish();
  }
  bool aborted() const { return aborted_; }
  // The socket failed: nothing more will be sent, so nothing is kept.
  void fail() {
    failed_ = true;
    drop();
    notify();
  }
  bool failed() const { return failed_; }
  // Until the next change; the caller checks what it waits for before and after.
  asio::awaitable<void> wait() { co_await wake_.async_wait(use_nothrow); }

 private:
  void add(std::size_t bytes) {
    unsent_ += bytes;
    total_ += bytes;
  }
  void remove(std::size_t bytes) {
    unsent_ -= bytes;
    total_ -= bytes;
  }
  void drop() {
    remove(unsent_);
    chunks_.clear();
  }
  void notify() { wake_.cancel(); }

  asio::basic_waitable_timer<Clock, asio::wait_traits<Clock>, asio::io_context::executor_type>
      wake_;
  std::atomic<std::size_t>& total_;
  std::deque<std::string> chunks_;
  std::size_t unsent_ = 0;
  bool finished_ = false;
  bool failed_ = false;
  bool aborted_ = false;
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

}  // namespace

struct HttpServer::Impl : std::enable_shared_from_this<HttpServer::Impl> {
  IoPool& pool;
  core::Endpoint listen;
  HttpServerOptions options;
  RequestHandler handler;
  std::unique_ptr<tcp::acceptor> acceptor;
  // By context: the pool's, and those connections moved to (relocate). A context's entry is
  // touched only from its thread; the map itself under the mutex.
  std::mutex registries_mutex;
  std::map<asio::io_context*, ContextConnections> registries;
  std::atomic<std::size_t> in_flight{0};
  std::atomic<std::size_t> connections{0};
  std::atomic<std::uint64_t> refused_listener{0};
  std::atomic<std::uint64_t> refused_source{0};
  // Open connections by source address, and the count's high-water mark since the last trim;
  // taken on accept (main context) and released by each connection's context.
  std::mutex slots_mutex;
  std::map<asio::ip::address, std::size_t> per_source;
  std::size_t high_water = 0;
  bool trim_scheduled = false;
  std::atomic<std::size_t> stream_unsent{0};
  std::atomic<bool> draining{false};
  std::uint16_t bound_port = 0;

  Impl(IoPool& p, core::Endpoint l, HttpServerOptions o, RequestHandler h)
      : pool(p), listen(std::move(l)), options(o), handler(std::move(h)) {
    for (std::size_t i = 0; i < pool.size(); ++i) registries[&pool.context(i)];
  }

  // Counts a connection among its context's while it lives, however its coroutine ends (a
  // context destroyed with connections still on it included).
  class Registration {
   public:
    Registration(Impl& impl, Connection& connection)
        : impl_(impl),
          connection_(&connection),
          context_(&connection.socket.get_executor().context()) {
      std::lock_guard lock(impl_.registries_mutex);
      registry_ = &impl_.registries[context_];
      registry_->open.insert(connection_);
    }
    ~Registration() {
      registry_->open.erase(connection_);
      // A context outside the pool may go away after its last connection; drain() must not
      // post to it then.
      if (!registry_->open.empty() || impl_.pool_owns(*context_)) return;
      std::lock_guard lock(impl_.registries_mutex);
      if (registry_->open.empty()) impl_.registries.erase(context_);
    }
    Registration(const Registration&) = delete;
    Registration& operator=(const Registration&) = delete;

   private:
    Impl& impl_;
    Connection* connection_;
    asio::io_context* context_;
    ContextConnections* registry_ = nullptr;
  };

  bool pool_owns(asio::io_context& context) const {
    for (std::size_t i = 0; i < pool.size(); ++i) {
      if (&pool.context(i) == &context) return true;
    }
    return false;
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
      beast::error_code peer_error;
      const auto peer = socket.remote_endpoint(peer_error);
      if (peer_error) continue;  // already gone
      if (!take_connection_slot(peer.address())) {
        // Refused at once: a reset, so the refusal leaves no TIME_WAIT behind on this side.
        beast::error_code ignored;
        socket.set_option(asio::socket_base::linger(true, 0), ignored);
        socket.close(ignored);
        continue;
      }
      asio::co_spawn(target, serve(std::move(socket), peer, {}, {}), asio::detached);
    }
  }

  // Counts a new connection from `source`, or counts its refusal when a cap is reached.
  bool take_connection_slot(const asio::ip::address& source) {
    std::lock_guard lock(slots_mutex);
    if (connections >= options.max_connections) {
      ++refused_listener;
      return false;
    }
    auto& from_source = per_source[source];
    if (from_source >= options.max_connections_per_source) {
      ++refused_source;
      return false;
    }
    ++from_source;
    high_water = std::max(high_water, ++connections);
    return true;
  }

  void release_connection_slot(const asio::ip::address& source) {
    std::lock_guard lock(slots_mutex);
    if (auto found = per_source.find(source); found != per_source.end() && --found->second == 0) {
      per_source.erase(found);
    }
    --connections;
    if (high_water >= kTrimHighWater && connections <= high_water / 2 && !trim_scheduled) {
      trim_scheduled = true;
      asio::co_spawn(pool.main(), trim_memory(), asio::detached);
    }
  }

  asio::awaitable<void> trim_memory() {
    auto self = shared_from_this();
    co_await sleep_for(kTrimDelay);
    {
      std::lock_guard lock(slots_mutex);
      high_water = connections;
      trim_scheduled = false;
    }
#if defined(__GLIBC__)
    malloc_trim(0);
#endif
  }

  // Gives back a connection's slot when its coroutine ends, unless it moved on (the one on
  // its new context gives it back then).
  struct Slot {
    Impl& impl;
    asio::ip::address source;
    bool held = true;
    ~Slot() {
      if (held) impl.release_connection_slot(source);
    }
  };

  // `reader` and `first` are set for a connection that moved here from another context.
  asio::awaitable<void> serve(Socket socket, tcp::endpoint peer,
                              std::unique_ptr<RequestReader> reader,
                              std::optional<Admitted> first) {
    auto self = shared_from_this();
    beast::error_code ignored;
    socket.set_option(tcp::no_delay(true), ignored);
    const std::string remote = peer.address().to_string() + ":" + std::to_string(peer.port());
    // Declared first: it is given back after the connection's buffers are freed, so a trim it
    // triggers can return them.
    Slot slot{*this, peer.address()};
    std::optional<Handover> handover;
    {
      Connection connection(std::move(socket), options, std::move(reader));
      Registration registration(*this, connection);
      if (co_await handshake(connection)) {
        co_await exchange_requests(connection, remote, std::move(first), handover);
      }
      if (handover) {
        slot.held = hand_over(connection, peer, std::move(*handover));
      } else {
        connection.socket.shutdown(tcp::socket::shutdown_send, ignored);
        connection.socket.close(ignored);
      }
    }
  }

  // Moves the connection's socket to the handover's context and goes on serving it there;
  // false when it could not (the connection is then closed, as after a failed read).
  bool hand_over(Connection& connection, const tcp::endpoint& peer, Handover handover) {
    beast::error_code error;
    auto& plain = connection.socket.socket();
    const auto protocol = plain.local_endpoint(error).protocol();
    if (error) return true;
    const auto descriptor = plain.release(error);
    if (error) return true;
    Socket moved(handover.home->get_executor());
    moved.assign(protocol, descriptor, error);
    if (error) {
      ::close(descriptor);
      return true;
    }
    asio::co_spawn(
        *handover.home,
        serve(std::move(moved), peer, std::move(handover.reader), std::move(handover.first)),
        asio::detached);
    return false;
  }

  // TLS: the handshake, within the time a request head gets. A client that does not speak
  // TLS (plain HTTP to an HTTPS listener) fails here and is closed without an answer.
  asio::awaitable<bool> handshake(Connection& connection) {
    if (!connection.socket.secure()) co_return true;
    connection.deadline.expire_after(options.header_read_timeout);
    auto [error] =
        co_await connection.socket.async_handshake(asio::ssl::stream_base::server, use_nothrow);
    co_return !error && !connection.deadline.expired();
  }

  // Answers requests until the connection closes or moves (then `handover` is set); a
  // connection that moved here brings the head of its first request, admitted already.
  asio::awaitable<void> exchange_requests(Connection& connection, const std::string& remote,
                                          std::optional<Admitted> first,
                                          std::optional<Handover>& handover) {
    // A request brought along is answered even if a drain began while it moved.
    while (first || !draining) {
      std::string principal;
      // The client as admit() names it: the peer, or whom a trusted proxy in front says it
      // is forwarding for (a gateway behind `isla balancer`).
      std::string client = remote;
      if (first) {
        principal = std::move(first->principal);
        client = std::move(first->client);
        connection.read_deadline = first->read_deadline;
        connection.deadline.expire_at(connection.read_deadline);
        first.reset();
      } else {
        connection.read_deadline = Clock::now() + options.header_read_timeout;
        connection.deadline.expire_at(connection.read_deadline);
        if (!co_await fill(connection, Progress::head)) break;
        if (options.admit && !admit(connection, remote, &principal, &client)) break;
        if (auto* home = relocation(connection)) {
          // What is owed for earlier requests leaves first, from here: answers stay in order.
          if (co_await flush(connection)) co_return;
          handover = Handover{
              home, Admitted{std::move(principal), std::move(client), connection.read_deadline},
              std::move(connection.reader)};
          co_return;
        }
      }
      connection.handling = true;
      ++in_flight;
      if (!co_await fill(connection, Progress::done)) {
        --in_flight;
        break;
      }
      connection.deadline.expire_never();  // the handler has its own deadline
      auto received = connection.reader->take();
      received.request.principal = std::move(principal);
      const bool keep_alive = co_await answer(connection, std::move(received), client);
      connection.handling = false;
      --in_flight;
      if (!keep_alive) break;
      // With the next request already here (pipelining) its answer joins this one's.
      if (!connection.reader->input().has_bytes() ||
          connection.output.size() >= kMaxBatchedOutput) {
        if (co_await flush(connection)) co_return;
      }
    }
    co_await flush(connection);
  }

  // The context this connection should move to with the request whose head it has just
  // admitted, or null to stay.
  asio::io_context* relocation(Connection& connection) {
    if (!options.relocate || connection.socket.secure()) return nullptr;
    auto* home = options.relocate(connection.reader->head());
    if (home == &connection.socket.get_executor().context()) return nullptr;
    return home;
  }

  // Lets the request whose head was just read in, or queues its refusal; a refused
  // request's body is never read, so its connection closes after the answer.
  bool admit(Connection& connection, const std::string& remote, std::string* principal,
             std::string* client) {
    auto head = connection.reader->head();
    head.remote = remote;
    auto refusal = options.admit(head);
    if (!refusal) {
      *principal = std::move(head.principal);
      *client = std::move(head.remote);
      return true;
    }
    append_response(*refusal, 11, false, connection.output);
    return false;
  }

  // Advances the reader to `wanted`, receiving only when it has no more of the request in
  // hand, and sending what is owed before it waits. False when the connection must close
  // (after the rejection it queued, if the request was refused).
  asio::awaitable<bool> fill(Connection& connection, Progress wanted) {
    for (;;) {
      auto progress = connection.reader->next();
      if (progress == wanted) co_return true;
      if (progress == Progress::need_more) {
        if (!connection.output.empty()) {
          if (co_await flush(connection)) co_return false;
          connection.deadline.expire_at(connection.read_deadline);
        }
        if (connection.deadline.expired()) co_return false;
        auto [error, bytes] = co_await connection.socket.async_read_some(
            connection.reader->input().prepare(), use_nothrow);
        if (connection.deadline.expired()) co_return false;
        if (!error) {
          connection.reader->input().commit(bytes);
          continue;
        }
        if (error != asio::error::eof) co_return false;
        progress = connection.reader->finish();
      }
      // A request the parser refused gets its 4xx; a client that left between requests
      // gets nothing.
      if (!connection.reader->quiet()) {
        append_response(connection.reader->rejection(), 11, false, connection.output);
      }
      co_return false;
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
    // A large answer's room goes back rather than staying with an idle keep-alive connection.
    if (connection.output.capacity() > kMaxBatchedOutput) connection.output.shrink_to_fit();
    connection.writing = false;
    if (connection.deadline.expired()) error = beast::error::timeout;
    co_return error;
  }

  asio::awaitable<bool> answer(Connection& connection, RequestReader::Request&& received,
                               const std::string& remote) {
    const unsigned version = received.version;
    const bool client_keep_alive = received.keep_alive;
    const bool head_request = received.head_method;
    HttpRequest& request = received.request;
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
    // A HEAD answer has no body, but announces the length a GET's would have (RFC 9110,
    // 9.3.2) when its handler knows it: a proxy passes on its backend's.
    std::optional<std::uint64_t> announced;
    if (head_request && response.body.empty()) {
      if (auto length = response.header("Content-Length")) {
        announced = core::parse_integer<std::uint64_t>(*length);
      }
    }
    append_response(response, version, keep_alive, connection.output, head_request, announced);
    co_return keep_alive;
  }

  // Chunked transfer of a streamed body; the connection closes afterwards, so a stream
  // never holds up a keep-alive exchange. The stream is asked for chunks while earlier ones
  // are being written (see StreamBacklog).
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
    StreamQueue queue(connection.socket.get_executor(), stream_unsent);
    co_await (produce_chunks(stream, queue) && write_chunks(connection, queue) &&
              notice_client_leaving(connection, queue));
  }

  // A stream that waits for news (a watch) writes nothing for long stretches, so a client
  // that left would go unnoticed until the next keep-alive, holding whatever the stream
  // holds (a watcher's place among the capped few). Reading sees the end at once.
  asio::awaitable<void> notice_client_leaving(Connection& connection, StreamQueue& queue) {
    char ignored[256];
    while (!queue.finished() && !queue.failed()) {
      auto [error, bytes] =
          co_await connection.socket.async_read_some(asio::buffer(ignored), use_nothrow);
      if (error) break;
    }
    if (!queue.finished()) queue.fail();
  }

  asio::awaitable<void> produce_chunks(BodyStream& stream, StreamQueue& queue) {
    while (!draining && !queue.failed()) {
      auto chunk = co_await stream(queue);
      if (!chunk || draining || queue.failed() || queue.aborted()) break;
      if (!chunk->empty()) queue.push(std::move(*chunk));
    }
    queue.finish();
  }

  asio::awaitable<void> write_chunks(Connection& connection, StreamQueue& queue) {
    for (;;) {
      while (queue.empty() && !queue.finished()) co_await queue.wait();
      if (queue.empty()) break;
      connection.deadline.expire_after(options.write_timeout);
      auto [error, bytes] = co_await asio::async_write(
          connection.socket, http::make_chunk(asio::buffer(queue.front())), use_nothrow);
      if (error || connection.deadline.expired()) {
        queue.fail();
        co_return;
      }
      queue.pop();
    }
    // Without the last chunk the client cannot take a broken source for the body's end; the
    // connection closes after a stream in any case.
    if (!queue.aborted()) {
      connection.deadline.expire_after(options.write_timeout);
      co_await asio::async_write(connection.socket, http::make_chunk_last(), use_nothrow);
    }
    // The body is complete: stop listening for the client's departure.
    beast::error_code ignored;
    connection.socket.cancel(ignored);
  }

  void close_idle_connections(asio::io_context& context) {
    ContextConnections* registry = nullptr;
    {
      std::lock_guard lock(registries_mutex);
      auto found = registries.find(&context);
      if (found == registries.end()) return;
      registry = &found->second;
    }
    for (auto* connection : registry->open) {
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
  // A name binds to what it resolves to now (a Kubernetes pod's stable name).
  const auto address = bind_address(impl_->listen.host);
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
RefusedConnections HttpServer::refused_connections() const {
  return {impl_->refused_listener.load(), impl_->refused_source.load()};
}
std::size_t HttpServer::stream_unsent_bytes() const {
  return impl_->stream_unsent;
}
bool HttpServer::draining() const {
  return impl_->draining;
}

void HttpServer::close_listener() {
  beast::error_code ignored;
  if (impl_->acceptor) impl_->acceptor->close(ignored);
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
    {
      // Under the lock: a context outside the pool is only destroyed after its connections,
      // whose last one takes the lock to remove its entry.
      std::lock_guard lock(impl->registries_mutex);
      for (auto& [context, connections] : impl->registries) {
        asio::post(*context, [impl, context = context] { impl->close_idle_connections(*context); });
      }
    }
    co_await sleep_for(std::chrono::milliseconds(5));
  }
  co_return impl->connections == 0;
}

}  // namespace isla::net
