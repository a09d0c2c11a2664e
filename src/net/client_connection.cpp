#include "net/client_connection.hpp"

#include <netinet/in.h>
#include <sys/socket.h>

#include <cerrno>

#include <boost/asio/write.hpp>

namespace isla::net {

using tcp = asio::ip::tcp;

namespace {

// A batch above this may take several sends; its answer is read for while it is written.
constexpr std::size_t kReadAfterWriteBytes = 16 * 1024;

ClientResult failure(ClientErrorKind kind, const core::Endpoint& to, const std::string& what) {
  return ClientResult{std::nullopt, kind, to.str() + ": " + what};
}

// Completes a waiting request from a fresh turn of the loop, never from inside the reader
// or writer that produced its outcome.
void deliver(asio::io_context::executor_type executor,
             asio::any_completion_handler<void(Exchange)> handler, Exchange outcome) {
  asio::post(executor, [handler = std::move(handler), outcome = std::move(outcome)]() mutable {
    std::move(handler)(std::move(outcome));
  });
}

// A specific address to connect from, or nullopt to let the system choose.
std::optional<asio::ip::address> specific_address(const std::string& text) {
  boost::system::error_code error;
  const auto address = asio::ip::make_address(text, error);
  if (error || address.is_unspecified()) return std::nullopt;
  return address;
}

}  // namespace

ClientConnection::ClientConnection(asio::io_context::executor_type executor, core::Endpoint to,
                                   const HttpClientOptions& options, OnClosed on_closed)
    : executor_(executor),
      socket_(Socket(executor), options.tls.get()),
      to_(std::move(to)),
      peer_(to_.str()),
      options_(options),
      local_address_(specific_address(options.local_address)),
      on_closed_(std::move(on_closed)),
      deadline_(executor, [this] { on_deadline(); }),
      connect_by_(Clock::now() + options.connect_timeout),
      idle_since_(Clock::now()),
      reader_(std::make_unique<ResponseReader>(options.max_response_bytes)) {}

ClientConnection::~ClientConnection() = default;

void ClientConnection::start() {
  asio::co_spawn(
      executor_, [self = shared_from_this()] { return self->connect(); }, asio::detached);
}

void ClientConnection::close() {
  auto self = shared_from_this();
  fail_all(ClientErrorKind::io, "connection closed", true);
}

void ClientConnection::abandon() {
  auto self = shared_from_this();  // the handlers dropped may hold the last other reference
  closed_ = true;
  std::deque<Pending> dropped;
  dropped.swap(pending_);
  dropped.clear();
}

void ClientConnection::enqueue(std::string bytes, bool head, Clock::time_point deadline,
                               asio::any_completion_handler<void(Exchange)> handler) {
  if (closed_) {
    deliver(executor_, std::move(handler),
            Exchange{failure(ClientErrorKind::io, to_, "connection closed"), true});
    return;
  }
  pending_.push_back(Pending{std::move(handler), deadline, head});
  if (options_.observer) options_.observer->on_request_sent(pending_.size() > 1);
  if (queued_.empty()) {
    queued_ = std::move(bytes);
  } else {
    queued_ += bytes;
  }
  refresh_deadline();
  schedule_flush();
}

// Writing at the end of this turn of the event loop, not at once, lets every request
// produced in the same turn (one per client whose request just arrived) join the batch.
// Without pipelining nothing can join, and the end of the turn may be far: the Raft loop
// sends its appends and then writes its own log before its turn ends.
void ClientConnection::schedule_flush() {
  if (flush_scheduled_ || !connected_ || !writing_.empty()) return;
  if (options_.pipeline_depth <= 1) {
    write_batch();
    return;
  }
  flush_scheduled_ = true;
  asio::post(executor_, [self = shared_from_this()] {
    self->flush_scheduled_ = false;
    self->write_batch();
  });
}

void ClientConnection::write_batch() {
  if (closed_ || queued_.empty() || !writing_.empty()) return;
  writing_.swap(queued_);
  // A batch too large for one send may be answered (413, or a close) before it is all
  // written: read alongside. A small one is read for once it is sent (see read_more).
  const bool read_alongside = writing_.size() > kReadAfterWriteBytes;
  asio::async_write(
      socket_, asio::buffer(writing_),
      [self = shared_from_this()](const boost::system::error_code& error, std::size_t) {
        self->writing_.clear();
        if (self->closed_) return;
        if (error) {
          // Nothing sent on a broken connection was answered.
          self->fail_all(ClientErrorKind::io, error.message(), true);
          return;
        }
        self->read_more();
        self->write_batch();
      });
  if (read_alongside) read_more();
}

asio::awaitable<void> ClientConnection::connect() {
  refresh_deadline();
  boost::system::error_code error;
  const auto address = asio::ip::make_address(to_.host, error);
  if (!error) {
    error = co_await connect_to(tcp::endpoint(address, to_.port));
  } else {
    asio::ip::basic_resolver<tcp, asio::io_context::executor_type> resolver(executor_);
    auto [resolve_error, results] =
        co_await resolver.async_resolve(to_.host, std::to_string(to_.port), use_nothrow);
    if (resolve_error) {
      fail_all(ClientErrorKind::connect, "cannot resolve: " + resolve_error.message(), false);
      co_return;
    }
    // Each of the name's addresses in turn, until one answers or the deadline cancels.
    for (const auto& entry : results) {
      error = co_await connect_to(entry.endpoint());
      if (!error || closed_ || deadline_.expired()) break;
    }
  }
  if (closed_) co_return;
  if (error) {
    const bool timed_out = deadline_.expired();
    fail_all(ClientErrorKind::connect, timed_out ? "connect timed out" : error.message(), false);
    co_return;
  }
  socket_.set_option(tcp::no_delay(true), error);
  error = co_await handshake();
  if (closed_) co_return;
  if (error) {
    const bool timed_out = deadline_.expired();
    fail_all(ClientErrorKind::connect,
             timed_out ? "TLS handshake timed out" : "TLS handshake failed: " + error.message(),
             false);
    co_return;
  }
  connected_ = true;
  refresh_deadline();
  schedule_flush();
}

asio::awaitable<boost::system::error_code> ClientConnection::handshake() {
  if (!socket_.secure()) co_return boost::system::error_code{};
  options_.tls->prepare_client(socket_.ssl(), to_.host, peer_);
  auto [error] = co_await socket_.async_handshake(asio::ssl::stream_base::client, use_nothrow);
  if (!error && SSL_session_reused(socket_.ssl())) ++options_.tls->resumed;
  co_return error;
}

asio::awaitable<boost::system::error_code> ClientConnection::connect_to(const tcp::endpoint& peer) {
  boost::system::error_code error;
  auto& socket = socket_.socket();
  if (socket.is_open()) socket.close(error);
  socket.open(peer.protocol(), error);
  if (!error && local_address_ && local_address_->is_v4() == peer.address().is_v4()) {
    // The port is chosen at connect, from the whole address pair, as for an unbound socket;
    // binding alone would take one of the address's ports whatever the peer. An optimisation:
    // without it (a kernel before 4.2) the bind still works.
    boost::system::error_code ignored;
    socket.set_option(
        asio::detail::socket_option::boolean<IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT>(true), ignored);
    socket.bind(tcp::endpoint(*local_address_, 0), error);
  }
  if (!error) std::tie(error) = co_await socket.async_connect(peer, use_nothrow);
  co_return error;
}

bool ClientConnection::peer_closed() {
  if (closed_ || !connected_) return false;
  char byte = 0;
  const auto got = ::recv(socket_.socket().native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  // Bytes waiting are not a close (TLS 1.3 session tickets arrive after the handshake).
  return got == 0 || (got < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR);
}

// Started when a request has left, not when it is queued: Asio tries every read at once
// before waiting for readiness, and a read started just after the send always finds nothing
// (one wasted recv per request, a fifth of the syscalls on the proxy's path). By the time the
// write's completion runs, a turn of the loop later, the answer is often there already. A
// pooled connection that the server closed while idle is still found out: the read after the
// write sees the end, and the request fails as unanswered, so it may be sent again.
void ClientConnection::read_more() {
  if (reading_ || closed_ || !connected_ || pending_.empty()) return;
  reading_ = true;
  socket_.async_read_some(
      reader_->input().prepare(),
      [self = shared_from_this()](const boost::system::error_code& error, std::size_t bytes) {
        self->reading_ = false;
        self->on_read(error, bytes);
      });
}

// Hands each complete answer in the buffer to the oldest request.
void ClientConnection::on_read(const boost::system::error_code& error, std::size_t bytes) {
  if (closed_) return;
  if (error) {
    const bool eof = error == asio::error::eof;
    fail_all(ClientErrorKind::io, eof ? "connection closed by peer" : error.message(),
             !reader_->started());
    return;
  }
  reader_->input().commit(bytes);
  while (reader_->input().has_bytes()) {
    if (pending_.empty()) {
      fail_all(ClientErrorKind::protocol, "answer to no request", false);
      return;
    }
    auto answer = reader_->next(pending_.front().head);
    if (!answer.error.empty()) {
      fail_all(ClientErrorKind::protocol, answer.error, false);
      return;
    }
    if (!answer.response) break;
    complete_front(Exchange{ClientResult{std::move(answer.response), ClientErrorKind::none, {}}});
    if (!answer.keep_alive) {
      // The server answers no more on this connection; what is still queued was not seen.
      fail_all(ClientErrorKind::io, "connection closed by peer", true);
      return;
    }
  }
  read_more();
}

void ClientConnection::complete_front(Exchange outcome) {
  auto handler = std::move(pending_.front().handler);
  pending_.pop_front();
  deliver(executor_, std::move(handler), std::move(outcome));
  refresh_deadline();
}

// The connection's deadline is its earliest request's, and while it connects, no later than
// the connect timeout. With none in flight the timer is disarmed: idleness is judged by the
// pool when it next looks (idle_since).
void ClientConnection::refresh_deadline() {
  if (closed_) return;
  if (connected_ && pending_.empty()) {
    idle_since_ = Clock::now();
    deadline_.disarm();
    return;
  }
  auto earliest = connected_ ? Clock::time_point::max() : connect_by_;
  for (const auto& request : pending_) earliest = std::min(earliest, request.deadline);
  deadline_.expire_at(earliest);
}

void ClientConnection::on_deadline() {
  auto self = shared_from_this();  // closing may drop the pool's reference
  if (!connected_) {
    boost::system::error_code ignored;
    socket_.cancel(ignored);  // connect() sees the abort and reports the timeout
    return;
  }
  // One late answer blocks those behind it and cannot be skipped: the connection goes.
  fail_all(ClientErrorKind::io, "connection dropped: an earlier request on it timed out", true);
}

void ClientConnection::fail_all(ClientErrorKind kind, const std::string& why, bool unanswered) {
  if (closed_) return;
  closed_ = true;
  const auto now = Clock::now();
  bool first = true;
  while (!pending_.empty()) {
    const bool late = pending_.front().deadline <= now;
    // Only the front request can have had part of its answer.
    const bool never_answered = unanswered || !first;
    first = false;
    complete_front(late ? Exchange{failure(ClientErrorKind::timeout, to_, "timed out"), false}
                        : Exchange{failure(kind, to_, why), never_answered});
  }
  boost::system::error_code ignored;
  socket_.shutdown(tcp::socket::shutdown_both, ignored);
  socket_.close(ignored);
  if (on_closed_) {
    auto on_closed = std::move(on_closed_);
    on_closed(*this);
  }
}

}  // namespace isla::net
