#pragma once
// One client connection to an HTTP/1.1 server that may carry several requests at once
// (pipelining): requests leave in the order given, their answers come back in that order.
// Requests queued while a write is under way, or in the same turn of the event loop, leave
// together in one send, and one receive can bring back many answers: on a busy path that
// divides the packets per request, which on loopback is most of the cost.
//
// Internal to net/: HttpClient keeps these in its per-context pool.
#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <deque>
#include <memory>
#include <optional>
#include <string>

#include "core/endpoint.hpp"
#include "net/http_client.hpp"
#include "net/lazy_deadline.hpp"
#include "net/response_reader.hpp"
#include "net/tls_stream.hpp"

namespace isla::net {

// What one exchange came to. `unanswered` means the connection ended before any byte of
// this request's answer arrived: the server may never have seen it, so an idempotent
// request may be sent again on another connection.
struct Exchange {
  ClientResult result;
  bool unanswered = false;
};

class ClientConnection : public std::enable_shared_from_this<ClientConnection> {
 public:
  using Clock = std::chrono::steady_clock;
  using Socket = MaybeTlsStream::Socket;
  // Called once, when the connection closes, so its owner can forget it.
  using OnClosed = std::function<void(ClientConnection&)>;

  ClientConnection(asio::io_context::executor_type executor, core::Endpoint to,
                   const HttpClientOptions& options, OnClosed on_closed);
  ~ClientConnection();

  // Connects in the background; requests sent before it is up wait for it.
  void start();
  // Closes it now; anything in flight fails as unanswered.
  void close();
  // Its io_context is being destroyed (stopped with requests in flight): drops their
  // handlers without calling them. A waiting request's coroutine holds this connection and
  // the connection holds its handler; nothing else would ever break that cycle.
  void abandon();

  // Sends a request (already serialized) and completes with its answer.
  template <class Token>
  auto exchange(std::string serialized, bool head_request, Clock::time_point deadline,
                Token&& token) {
    return asio::async_initiate<Token, void(Exchange)>(
        [this](auto handler, std::string bytes, bool head, Clock::time_point until) {
          enqueue(std::move(bytes), head, until,
                  asio::any_completion_handler<void(Exchange)>(std::move(handler)));
        },
        token, std::move(serialized), head_request, deadline);
  }

  std::size_t in_flight() const { return pending_.size(); }
  // Whether requests are queued that have not been handed to the socket yet (written at the
  // end of this turn of the loop, or once connected): a request joining them leaves with them.
  bool has_unsent() const { return !queued_.empty() && !closed_; }
  // Whether a request that must not be repeated may go here: nothing else is in flight.
  bool idle() const { return pending_.empty() && !closed_; }
  // When it last had nothing in flight: idle connections are dropped when next looked at
  // after HttpClientOptions::pool_idle_timeout, not by a timer.
  Clock::time_point idle_since() const { return idle_since_; }
  // Whether the peer has closed this connection while it was idle (no read is pending then,
  // so nothing else would notice before the next request is written into it and lost: a
  // backend killed with SIGKILL leaves exactly that). One non-blocking peek, no wait.
  bool peer_closed();

 private:
  struct Pending {
    asio::any_completion_handler<void(Exchange)> handler;
    Clock::time_point deadline;
    bool head = false;  // a HEAD request: its answer has no body
  };
  void enqueue(std::string bytes, bool head, Clock::time_point deadline,
               asio::any_completion_handler<void(Exchange)> handler);
  asio::awaitable<void> connect();
  // Opens the socket (from HttpClientOptions::local_address, if one applies) and connects.
  asio::awaitable<boost::system::error_code> connect_to(const asio::ip::tcp::endpoint& peer);
  // Reads only while answers are owed: an idle connection holds no pending operation, so
  // an io_context with nothing else to do can return from run().
  void read_more();
  void on_read(const boost::system::error_code& error, std::size_t bytes);
  void schedule_flush();
  void write_batch();
  void complete_front(Exchange outcome);
  void refresh_deadline();
  void on_deadline();
  // Ends the connection: every request still in flight completes with `why`, or with a
  // timeout when its own deadline has passed.
  void fail_all(ClientErrorKind kind, const std::string& why, bool unanswered);

  // TLS: after connecting, the handshake (within the connect timeout).
  asio::awaitable<boost::system::error_code> handshake();

  asio::io_context::executor_type executor_;
  MaybeTlsStream socket_;  // plain or TLS, as HttpClientOptions::tls says
  core::Endpoint to_;
  const std::string peer_;  // to_.str(): the key of the TLS session cache
  const HttpClientOptions options_;
  std::optional<asio::ip::address> local_address_;
  OnClosed on_closed_;
  LazyDeadline deadline_;
  const Clock::time_point connect_by_;  // the connect timeout
  Clock::time_point idle_since_;
  std::unique_ptr<ResponseReader> reader_;
  std::deque<Pending> pending_;
  std::string queued_;   // serialized requests not yet handed to the socket
  std::string writing_;  // the batch being written
  bool connected_ = false;
  bool flush_scheduled_ = false;
  bool closed_ = false;
  bool reading_ = false;
};

}  // namespace isla::net
