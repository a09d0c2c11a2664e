#include "net/stream_call.hpp"

#include <array>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include "net/beast_codec.hpp"
#include "net/http_serialize.hpp"
#include "net/tls_context.hpp"

namespace isla::net {

namespace beast = boost::beast;
using tcp = asio::ip::tcp;

namespace {

using PlainStream = beast::tcp_stream;
using TlsStream = beast::ssl_stream<beast::tcp_stream>;

template <class Stream>
class StreamCallOver final : public StreamCall {
 public:
  template <class... StreamArgs>
  StreamCallOver(const core::Endpoint& to, const StreamOptions& options, StreamArgs&&... args)
      : to_(to), peer_(to.str()), options_(options), stream_(std::forward<StreamArgs>(args)...) {
    parser_.body_limit(boost::none);
  }

  ~StreamCallOver() override {
    beast::error_code ignored;
    beast::get_lowest_layer(stream_).socket().shutdown(tcp::socket::shutdown_both, ignored);
  }

  const StreamResult& result() const override { return result_; }

  asio::awaitable<void> start(const HttpRequest& request) {
    if (!co_await connect()) co_return;
    if constexpr (std::is_same_v<Stream, TlsStream>) {
      options_.tls->prepare_client(stream_.native_handle(), to_.host, peer_);
      auto [error] = co_await stream_.async_handshake(asio::ssl::stream_base::client, use_nothrow);
      if (error) {
        co_return fail(ClientErrorKind::connect, error == beast::error::timeout
                                                     ? "TLS handshake timed out"
                                                     : "TLS handshake failed: " + error.message());
      }
    }
    std::string message;
    append_request(request, peer_, message);
    auto [write_error, written] =
        co_await asio::async_write(stream_, asio::buffer(message), use_nothrow);
    if (write_error) co_return fail(write_error);
    auto [head_error, head_bytes] =
        co_await http::async_read_header(stream_, buffer_, parser_, use_nothrow);
    if (head_error) co_return fail(head_error);
    HttpResponse head;
    head.status = static_cast<int>(parser_.get().result_int());
    for (const auto& field : parser_.get()) {
      if (field.name() == http::field::content_type) {
        head.content_type = std::string(field.value());
      } else {
        head.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
      }
    }
    success_ = head.status >= 200 && head.status <= 299;
    result_.head = std::move(head);
    if (success_) co_return;
    // An error's body is short and wanted whole (the caller reports it).
    auto& body = result_.head->body;
    while (body.size() < options_.max_error_body_bytes) {
      auto piece = co_await read_piece(options_.head_timeout);
      if (!piece) break;
      body.append(piece->substr(0, options_.max_error_body_bytes - body.size()));
    }
  }

  asio::awaitable<std::optional<std::string>> next() override {
    if (!success_) co_return std::nullopt;
    auto piece = co_await read_piece(options_.idle_timeout);
    co_return piece;
  }

 private:
  void fail(ClientErrorKind kind, const std::string& what) {
    result_.error = kind;
    result_.message = peer_ + ": " + what;
    ended_ = true;
  }

  // A read or write error: the deadline, a malformed answer, or a broken connection.
  void fail(const beast::error_code& error) {
    if (error == beast::error::timeout) {
      fail(ClientErrorKind::timeout,
           result_.head ? "no data for " + std::to_string(options_.idle_timeout.count()) + " ms"
                        : "no answer in time");
      return;
    }
    const bool malformed =
        error.category() == http::make_error_code(http::error::need_more).category() &&
        error != http::error::end_of_stream && error != http::error::partial_message;
    fail(malformed ? ClientErrorKind::protocol : ClientErrorKind::io, error.message());
  }

  // Resolves and connects, with the head timeout set; false (and the failure noted) if not.
  asio::awaitable<bool> connect() {
    auto& socket = beast::get_lowest_layer(stream_);
    socket.expires_after(options_.head_timeout);
    tcp::resolver resolver(co_await asio::this_coro::executor);
    auto [resolve_error, endpoints] =
        co_await resolver.async_resolve(to_.host, std::to_string(to_.port), use_nothrow);
    if (resolve_error) {
      fail(ClientErrorKind::connect, "cannot resolve: " + resolve_error.message());
      co_return false;
    }
    auto [connect_error, connected] = co_await socket.async_connect(endpoints, use_nothrow);
    if (connect_error) {
      fail(ClientErrorKind::connect,
           connect_error == beast::error::timeout ? "connect timed out" : connect_error.message());
      co_return false;
    }
    co_return true;
  }

  // The next non-empty piece of the body, or nullopt at its end or on failure.
  asio::awaitable<std::optional<std::string>> read_piece(std::chrono::milliseconds silence) {
    while (!ended_ && !parser_.is_done()) {
      parser_.get().body().data = piece_.data();
      parser_.get().body().size = piece_.size();
      beast::get_lowest_layer(stream_).expires_after(silence);
      // read_some, not read: read would wait until the piece is full.
      auto [error, bytes] = co_await http::async_read_some(stream_, buffer_, parser_, use_nothrow);
      if (error == http::error::need_buffer) error = {};
      if (error) {
        fail(error);
        break;
      }
      const std::size_t got = piece_.size() - parser_.get().body().size;
      if (got > 0) co_return std::string(piece_.data(), got);
    }
    ended_ = true;
    co_return std::nullopt;
  }

  core::Endpoint to_;
  std::string peer_;  // outlives the stream: TLS sessions are filed under it
  StreamOptions options_;
  Stream stream_;
  beast::flat_buffer buffer_;
  http::response_parser<http::buffer_body> parser_;
  std::array<char, 16 * 1024> piece_{};
  StreamResult result_;
  bool success_ = false;
  bool ended_ = false;
};

}  // namespace

asio::awaitable<std::unique_ptr<StreamCall>> StreamCall::open(const core::Endpoint& to,
                                                              const HttpRequest& request,
                                                              const StreamOptions& options) {
  auto executor = co_await asio::this_coro::executor;
  if (!options.tls) {
    auto call = std::make_unique<StreamCallOver<PlainStream>>(to, options, executor);
    co_await call->start(request);
    std::unique_ptr<StreamCall> opened = std::move(call);
    co_return opened;
  }
  auto call = std::make_unique<StreamCallOver<TlsStream>>(to, options, executor, options.tls->ssl);
  co_await call->start(request);
  std::unique_ptr<StreamCall> opened = std::move(call);
  co_return opened;
}

}  // namespace isla::net
