#include "net/http_stream.hpp"

#include <array>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include "net/beast_codec.hpp"
#include "net/tls_context.hpp"

namespace isla::net {

namespace beast = boost::beast;
using tcp = asio::ip::tcp;

namespace {

struct Exchange {
  const core::Endpoint& to;
  const HttpRequest& request;
  const StreamOptions& options;
  const std::function<bool(std::string_view)>& on_data;
  StreamResult result;

  void fail(ClientErrorKind kind, const std::string& what) {
    result.error = kind;
    result.message = to.str() + ": " + what;
  }

  // A read or write error: the deadline, a malformed answer, or a broken connection.
  void fail(const beast::error_code& error) {
    if (error == beast::error::timeout) {
      fail(ClientErrorKind::timeout,
           result.head ? "no data for " + std::to_string(options.idle_timeout.count()) + " ms"
                       : "no answer in time");
      return;
    }
    const bool malformed =
        error.category() == http::make_error_code(http::error::need_more).category() &&
        error != http::error::end_of_stream && error != http::error::partial_message;
    fail(malformed ? ClientErrorKind::protocol : ClientErrorKind::io, error.message());
  }

  asio::awaitable<void> run() {
    auto executor = co_await asio::this_coro::executor;
    if (!options.tls) {
      beast::tcp_stream stream(executor);
      if (co_await connect(stream)) co_await exchange(stream);
      co_return;
    }
    const std::string peer = to.str();  // outlives the stream: sessions are filed under it
    beast::ssl_stream<beast::tcp_stream> stream(executor, options.tls->ssl);
    if (!co_await connect(beast::get_lowest_layer(stream))) co_return;
    options.tls->prepare_client(stream.native_handle(), to.host, peer);
    auto [error] = co_await stream.async_handshake(asio::ssl::stream_base::client, use_nothrow);
    if (error) {
      fail(ClientErrorKind::connect, error == beast::error::timeout
                                         ? "TLS handshake timed out"
                                         : "TLS handshake failed: " + error.message());
      co_return;
    }
    co_await exchange(stream);
  }

  // Resolves and connects, with the head timeout set; false (and the failure noted) if not.
  asio::awaitable<bool> connect(beast::tcp_stream& stream) {
    stream.expires_after(options.head_timeout);
    tcp::resolver resolver(co_await asio::this_coro::executor);
    auto [resolve_error, endpoints] =
        co_await resolver.async_resolve(to.host, std::to_string(to.port), use_nothrow);
    if (resolve_error) {
      fail(ClientErrorKind::connect, "cannot resolve: " + resolve_error.message());
      co_return false;
    }
    auto [connect_error, connected] = co_await stream.async_connect(endpoints, use_nothrow);
    if (connect_error) {
      fail(ClientErrorKind::connect,
           connect_error == beast::error::timeout ? "connect timed out" : connect_error.message());
      co_return false;
    }
    co_return true;
  }

  // The request and its answer on a connected (and, for TLS, shaken-hands) stream.
  template <class Stream>
  asio::awaitable<void> exchange(Stream& stream) {
    const auto message = to_beast(request, to.str());
    auto [write_error, written] = co_await http::async_write(stream, message, use_nothrow);
    if (write_error) co_return fail(write_error);

    beast::flat_buffer buffer;
    http::response_parser<http::buffer_body> parser;
    parser.body_limit(boost::none);
    auto [head_error, head_bytes] =
        co_await http::async_read_header(stream, buffer, parser, use_nothrow);
    if (head_error) co_return fail(head_error);
    HttpResponse head;
    head.status = static_cast<int>(parser.get().result_int());
    for (const auto& field : parser.get()) {
      if (field.name() == http::field::content_type) {
        head.content_type = std::string(field.value());
      } else {
        head.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
      }
    }
    const bool success = head.status >= 200 && head.status <= 299;
    result.head = std::move(head);

    std::array<char, 16 * 1024> piece{};
    while (!parser.is_done()) {
      parser.get().body().data = piece.data();
      parser.get().body().size = piece.size();
      beast::get_lowest_layer(stream).expires_after(success ? options.idle_timeout
                                                            : options.head_timeout);
      // read_some, not read: read would wait until the piece is full.
      auto [error, bytes] = co_await http::async_read_some(stream, buffer, parser, use_nothrow);
      if (error == http::error::need_buffer) error = {};
      if (error) co_return fail(error);
      const std::string_view data(piece.data(), piece.size() - parser.get().body().size);
      if (data.empty()) continue;
      if (success) {
        if (!on_data(data)) break;
      } else {
        auto& body = result.head->body;
        body.append(data.substr(0, options.max_error_body_bytes - body.size()));
        if (body.size() >= options.max_error_body_bytes) break;
      }
    }
    beast::error_code ignored;
    beast::get_lowest_layer(stream).socket().shutdown(tcp::socket::shutdown_both, ignored);
  }
};

}  // namespace

StreamResult fetch_stream(const core::Endpoint& to, const HttpRequest& request,
                          const StreamOptions& options,
                          const std::function<bool(std::string_view)>& on_data) {
  asio::io_context context(1);
  Exchange exchange{to, request, options, on_data, {}};
  asio::co_spawn(context, exchange.run(), asio::detached);
  context.run();
  return std::move(exchange.result);
}

asio::awaitable<StreamResult> stream_on_executor(
    const core::Endpoint& to, const HttpRequest& request, const StreamOptions& options,
    const std::function<bool(std::string_view)>& on_data) {
  Exchange exchange{to, request, options, on_data, {}};
  co_await exchange.run();
  co_return std::move(exchange.result);
}

bool SseParser::feed(std::string_view bytes, const std::function<bool(const SseEvent&)>& on_event) {
  while (!bytes.empty()) {
    if (after_cr_) {
      after_cr_ = false;
      if (bytes.front() == '\n') {
        bytes.remove_prefix(1);
        continue;
      }
    }
    const auto end = bytes.find_first_of("\r\n");
    line_.append(bytes.substr(0, end));
    if (line_.size() + event_.data.size() > max_event_bytes_) {
      overflowed_ = true;
      return false;
    }
    if (end == std::string_view::npos) return true;
    after_cr_ = bytes[end] == '\r';
    bytes.remove_prefix(end + 1);
    if (!end_line(on_event)) return false;
  }
  return true;
}

bool SseParser::end_line(const std::function<bool(const SseEvent&)>& on_event) {
  const std::string line = std::move(line_);
  line_.clear();
  if (line.empty()) {
    bool go_on = true;
    if (has_data_) {
      event_.id = last_id_;
      go_on = on_event(event_);
    }
    event_ = SseEvent{};
    has_data_ = false;
    return go_on;
  }
  if (line.front() == ':') return true;  // a comment
  const auto colon = line.find(':');
  const std::string_view field = std::string_view(line).substr(0, colon);
  std::string_view value;
  if (colon != std::string::npos) {
    value = std::string_view(line).substr(colon + 1);
    if (value.starts_with(' ')) value.remove_prefix(1);
  }
  if (field == "event") {
    event_.type = value;
  } else if (field == "data") {
    if (has_data_) event_.data += '\n';
    event_.data += value;
    has_data_ = true;
  } else if (field == "id" && value.find('\0') == std::string_view::npos) {
    last_id_ = value;
  }
  return true;
}

}  // namespace isla::net
