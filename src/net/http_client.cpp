#include "net/http_client.hpp"

#include <atomic>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <deque>
#include <unordered_map>

#include "net/beast_codec.hpp"

namespace isla::net {

namespace beast = boost::beast;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;

namespace {

struct IdleConnection {
  std::unique_ptr<beast::tcp_stream> stream;
  Clock::time_point idle_since;
};

// Idle keep-alive connections of one io_context, by endpoint. An Asio service, so the pool
// lives exactly as long as the context whose sockets it holds, and needs no lock: a
// context's coroutines all run on its one thread.
class ConnectionPool final : public asio::execution_context::service {
 public:
  static inline asio::execution_context::id id;
  static inline std::atomic<std::uint64_t> generation{1};
  explicit ConnectionPool(asio::execution_context& context) : service(context) {}

  std::unique_ptr<beast::tcp_stream> take(const std::string& key, Clock::duration max_idle) {
    auto found = idle_.find(key);
    if (found == idle_.end()) return nullptr;
    auto& list = found->second;
    const auto now = Clock::now();
    while (!list.empty()) {
      IdleConnection entry = std::move(list.back());
      list.pop_back();
      if (now - entry.idle_since < max_idle) return std::move(entry.stream);
    }
    return nullptr;
  }

  void give(const std::string& key, std::unique_ptr<beast::tcp_stream> stream,
            std::size_t max_idle_count) {
    auto& list = idle_[key];
    if (list.size() >= max_idle_count) list.pop_front();
    list.push_back({std::move(stream), Clock::now()});
  }

 private:
  void shutdown() override {
    idle_.clear();
    generation.fetch_add(1, std::memory_order_acq_rel);
  }
  std::unordered_map<std::string, std::deque<IdleConnection>> idle_;
};

// asio::use_service takes a lock on every call; a thread runs one context, so remember its
// pool. Any pool's destruction invalidates every thread's memory (a new context may reuse
// a destroyed one's address), which is rare enough to cost nothing.
ConnectionPool& pool_of(const asio::any_io_executor& executor) {
  auto& context = asio::query(executor, asio::execution::context);
  thread_local asio::execution_context* cached_context = nullptr;
  thread_local ConnectionPool* cached_pool = nullptr;
  thread_local std::uint64_t cached_generation = 0;
  const auto generation = ConnectionPool::generation.load(std::memory_order_acquire);
  if (cached_context != &context || cached_generation != generation) {
    cached_pool = &asio::use_service<ConnectionPool>(context);
    cached_context = &context;
    cached_generation = generation;
  }
  return *cached_pool;
}

bool idempotent(const std::string& method) {
  return method == "GET" || method == "HEAD" || method == "PUT" || method == "DELETE" ||
         method == "OPTIONS";
}

ClientErrorKind classify(const beast::error_code& error) {
  if (error == beast::error::timeout) return ClientErrorKind::timeout;
  const bool parser_error =
      error.category() == http::make_error_code(http::error::need_more).category();
  if (parser_error && error != http::error::end_of_stream) return ClientErrorKind::protocol;
  return ClientErrorKind::io;
}

ClientResult failure(ClientErrorKind kind, const core::Endpoint& to, const std::string& what) {
  return ClientResult{std::nullopt, kind, to.str() + ": " + what};
}

asio::awaitable<ClientResult> open(const core::Endpoint& to, Clock::time_point deadline,
                                   const HttpClientOptions& options,
                                   std::unique_ptr<beast::tcp_stream>& stream) {
  auto executor = co_await asio::this_coro::executor;
  stream = std::make_unique<beast::tcp_stream>(executor);
  stream->expires_at(std::min(deadline, Clock::now() + options.connect_timeout));
  beast::error_code error;
  const auto address = asio::ip::make_address(to.host, error);
  if (!error) {
    std::tie(error) = co_await stream->async_connect(tcp::endpoint(address, to.port), use_nothrow);
  } else {
    tcp::resolver resolver(executor);
    auto [resolve_error, results] =
        co_await resolver.async_resolve(to.host, std::to_string(to.port), use_nothrow);
    if (resolve_error) {
      co_return failure(ClientErrorKind::connect, to, "cannot resolve: " + resolve_error.message());
    }
    std::tie(error, std::ignore) = co_await stream->async_connect(results, use_nothrow);
  }
  if (error) {
    const bool timed_out = error == beast::error::timeout;
    co_return failure(
        timed_out && Clock::now() >= deadline ? ClientErrorKind::timeout : ClientErrorKind::connect,
        to, timed_out ? "connect timed out" : error.message());
  }
  stream->socket().set_option(tcp::no_delay(true), error);
  co_return ClientResult{};
}

}  // namespace

constexpr std::size_t kInitialResponseBuffer = 4096;

asio::awaitable<ClientResult> HttpClient::request(const core::Endpoint& to,
                                                  const HttpRequest& request,
                                                  Clock::time_point deadline) const {
  auto& pool = pool_of(co_await asio::this_coro::executor);
  const std::string key = to.str();
  const auto message = to_beast(request, key);

  for (int attempt = 0; attempt < 2; ++attempt) {
    auto stream = attempt == 0 ? pool.take(key, options_.pool_idle_timeout) : nullptr;
    const bool reused = stream != nullptr;
    if (!stream) {
      auto opened = co_await open(to, deadline, options_, stream);
      if (opened.error != ClientErrorKind::none) co_return opened;
    }
    stream->expires_at(deadline);
    auto [write_error, written] = co_await http::async_write(*stream, message, use_nothrow);
    // Room for a typical answer up front: Beast reads at most the buffer's free capacity
    // (512 bytes for a fresh one), so a 1 KB response would otherwise cost three recv calls.
    beast::flat_buffer buffer;
    buffer.reserve(kInitialResponseBuffer);
    http::response_parser<http::string_body> parser;
    parser.body_limit(options_.max_response_bytes);
    beast::error_code read_error = write_error;
    if (!write_error) {
      std::tie(read_error, std::ignore) =
          co_await http::async_read(*stream, buffer, parser, use_nothrow);
    }
    if (read_error) {
      // A pooled connection the server closed while it sat idle fails before any byte of
      // the response arrives; that says nothing about the server, so try a fresh one.
      const bool stale =
          reused && buffer.size() == 0 && !parser.got_some() && read_error != beast::error::timeout;
      if (stale && idempotent(request.method)) continue;
      co_return failure(classify(read_error), to, read_error.message());
    }
    auto response = parser.release();
    const bool keep_alive = response.keep_alive();
    if (keep_alive) {
      stream->expires_never();
      pool.give(key, std::move(stream), options_.max_idle_per_endpoint);
    }
    co_return ClientResult{from_beast(std::move(response)), ClientErrorKind::none, {}};
  }
  co_return failure(ClientErrorKind::io, to, "connection closed by peer");
}

ClientResult fetch(const core::Endpoint& to, const HttpRequest& request,
                   std::chrono::milliseconds timeout) {
  asio::io_context context(1);
  HttpClient client;
  ClientResult result;
  asio::co_spawn(
      context,
      [&]() -> asio::awaitable<void> {
        result = co_await client.request(to, request, Clock::now() + timeout);
      },
      asio::detached);
  context.run();
  return result;
}

}  // namespace isla::net
