#pragma once
// Internal to net/: a TCP socket that speaks either plain bytes or TLS, decided when it is
// made. The server's and client's connections use it as their one stream type, so their
// code (and the lead's hooks in it) stays the same for both; the choice costs a branch
// per operation. Both branches of each operation return the same type: the completion
// token and signature decide it, not the stream.
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <optional>

#include "net/asio.hpp"
#include "net/tls_context.hpp"

namespace isla::net {

class MaybeTlsStream {
 public:
  using Socket = asio::basic_stream_socket<asio::ip::tcp, asio::io_context::executor_type>;
  using executor_type = Socket::executor_type;

  // TLS when `tls` is given (not null), plain otherwise.
  MaybeTlsStream(Socket socket, TlsContext* tls) {
    if (tls != nullptr) {
      tls_.emplace(std::move(socket), tls->ssl);
    } else {
      plain_.emplace(std::move(socket));
    }
  }

  bool secure() const { return tls_.has_value(); }
  Socket& socket() { return tls_ ? tls_->next_layer() : *plain_; }
  SSL* ssl() { return tls_ ? tls_->native_handle() : nullptr; }
  executor_type get_executor() { return socket().get_executor(); }

  // TLS only: the handshake, as a client or a server.
  template <class Token>
  auto async_handshake(asio::ssl::stream_base::handshake_type type, Token&& token) {
    return tls_->async_handshake(type, std::forward<Token>(token));
  }

  template <class Buffers, class Token>
  auto async_read_some(const Buffers& buffers, Token&& token) {
    if (tls_) return tls_->async_read_some(buffers, std::forward<Token>(token));
    return plain_->async_read_some(buffers, std::forward<Token>(token));
  }
  template <class Buffers, class Token>
  auto async_write_some(const Buffers& buffers, Token&& token) {
    if (tls_) return tls_->async_write_some(buffers, std::forward<Token>(token));
    return plain_->async_write_some(buffers, std::forward<Token>(token));
  }

  // On the TCP socket beneath: cancelling or closing it ends a TLS operation too.
  template <class Option>
  void set_option(const Option& option, boost::system::error_code& error) {
    socket().set_option(option, error);
  }
  void cancel(boost::system::error_code& error) { socket().cancel(error); }
  void shutdown(asio::socket_base::shutdown_type what, boost::system::error_code& error) {
    socket().shutdown(what, error);
  }
  void close(boost::system::error_code& error) { socket().close(error); }

 private:
  std::optional<Socket> plain_;
  std::optional<asio::ssl::stream<Socket>> tls_;
};

}  // namespace isla::net
