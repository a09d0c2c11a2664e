#include "net/http_client.hpp"

#include <atomic>
#include <unordered_map>

#include "net/beast_codec.hpp"
#include "net/client_connection.hpp"
#include "net/http_serialize.hpp"

namespace isla::net {

using Clock = std::chrono::steady_clock;

namespace {

// Client connections of one io_context, by endpoint. An Asio service, so the pool lives
// exactly as long as the context whose sockets it holds, and needs no lock: a context's
// coroutines all run on its one thread.
class ConnectionPool final : public asio::execution_context::service {
 public:
  static inline asio::execution_context::id id;
  static inline std::atomic<std::uint64_t> generation{1};
  explicit ConnectionPool(asio::execution_context& context) : service(context) {}

  // A connection for the next request: when pipelining a repeatable one, one whose queued
  // requests have not left yet; else one with nothing in flight; else, when pipelining and at
  // the connection budget, the least loaded one with room; else a new one. `fresh` asks for a
  // new one (the retry of a request whose connection died).
  // Joining requests not yet sent (made in the same turn of the loop) costs no send and often
  // no receive of its own, where an idle connection would cost both, and on loopback most of
  // a request's cost is per packet: with each figure's requests spread over two owners, the
  // gateway's batches to each piece server are small, and taking an idle connection first
  // split them once more (docs/benchmarks.md, "The knee"). The price: the server answers them
  // one after the other, where on two connections a server with several threads might have
  // run them at once.
  std::shared_ptr<ClientConnection> pick(asio::io_context::executor_type executor,
                                         const core::Endpoint& to, const std::string& host,
                                         const HttpClientOptions& options, bool repeatable,
                                         bool fresh) {
    auto& list = open_[options.pipeline_depth][options.local_address][options.tls.get()][host];
    std::shared_ptr<ClientConnection> idle;
    std::shared_ptr<ClientConnection> least_loaded;
    std::shared_ptr<ClientConnection> unsent;  // requests queued, not yet sent, and room
    std::vector<std::shared_ptr<ClientConnection>> surplus;
    std::size_t idle_count = 0;
    const auto stale_before = Clock::now() - options.pool_idle_timeout;
    for (const auto& connection : list) {
      if (connection->idle()) {
        const bool stale = connection->idle_since() < stale_before;
        if (stale || ++idle_count > options.max_idle_per_endpoint) {
          surplus.push_back(connection);
        } else if (!idle) {
          idle = connection;
        }
      } else {
        if (!least_loaded || connection->in_flight() < least_loaded->in_flight()) {
          least_loaded = connection;
        }
        if (!unsent && connection->has_unsent() &&
            connection->in_flight() < options.pipeline_depth) {
          unsent = connection;
        }
      }
    }
    for (const auto& connection : surplus) connection->close();
    // Only a request that cannot be sent twice pays a syscall to learn whether the server
    // closed the idle connection: a repeatable one written into a dead connection comes back
    // unanswered, and request() sends it again on a fresh one.
    if (idle && !repeatable && idle->peer_closed()) {
      idle->close();  // a request written into it would be lost: take a new connection
      idle.reset();
    }
    if (!fresh) {
      const bool may_join = repeatable && options.pipeline_depth > 1;
      if (unsent && may_join) return unsent;
      if (idle) return idle;
      const bool may_share = repeatable && options.pipeline_depth > 1 &&
                             list.size() >= options.connections_per_endpoint && least_loaded &&
                             least_loaded->in_flight() < options.pipeline_depth;
      if (may_share) return least_loaded;
    }
    auto connection = std::make_shared<ClientConnection>(
        executor, to, options,
        [this, depth = options.pipeline_depth, local = options.local_address,
         tls = options.tls.get(),
         host](ClientConnection& closed) { forget(open_[depth][local][tls][host], closed); });
    list.push_back(connection);
    connection->start();
    return connection;
  }

 private:
  static void forget(std::vector<std::shared_ptr<ClientConnection>>& list,
                     ClientConnection& closed) {
    std::erase_if(list, [&](const auto& connection) { return connection.get() == &closed; });
  }

  void shutdown() override {
    // The context is going away, perhaps stopped with requests in flight: their handlers
    // and connections would otherwise keep each other alive.
    std::vector<std::shared_ptr<ClientConnection>> all;
    for (auto& [depth, by_local] : open_) {
      for (auto& [local, by_tls] : by_local) {
        for (auto& [tls, by_endpoint] : by_tls) {
          for (auto& [host, list] : by_endpoint) all.insert(all.end(), list.begin(), list.end());
        }
      }
    }
    for (auto& connection : all) connection->abandon();
    open_.clear();
    generation.fetch_add(1, std::memory_order_acq_rel);
  }

  // By pipelining depth, local address, TLS context (none: plain), then endpoint: clients
  // with different settings do not share.
  using ByEndpoint =
      std::unordered_map<std::string, std::vector<std::shared_ptr<ClientConnection>>>;
  using ByTls = std::unordered_map<const TlsContext*, ByEndpoint>;
  std::unordered_map<std::size_t, std::unordered_map<std::string, ByTls>> open_;
};

// asio::use_service takes a lock on every call; a thread runs one context, so remember its
// pool. Any pool's destruction invalidates every thread's memory (a new context may reuse
// a destroyed one's address), which is rare enough to cost nothing.
ConnectionPool& pool_of(asio::io_context& context) {
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

bool idempotent_method(const std::string& method) {
  return method == "GET" || method == "HEAD" || method == "PUT" || method == "DELETE" ||
         method == "OPTIONS";
}

}  // namespace

asio::awaitable<ClientResult> HttpClient::request(const core::Endpoint& to,
                                                  const HttpRequest& request,
                                                  Clock::time_point deadline) const {
  const auto executor = co_await asio::this_coro::executor;
  const auto* io_executor = executor.target<asio::io_context::executor_type>();
  if (io_executor == nullptr) {
    throw std::logic_error("HttpClient::request must run on an io_context's executor");
  }
  auto& pool = pool_of(io_executor->context());
  const std::string host = to.str();
  const bool repeatable = request.idempotent.value_or(idempotent_method(request.method));
  const bool head = request.method == "HEAD";

  for (int attempt = 0;; ++attempt) {
    // Signed per attempt: a retry is a new request to the receiver's replay window.
    Headers signature;
    if (options_.signer) {
      signature.emplace_back("Isla-Auth", options_.signer->authorization(request, host));
    }
    std::string serialized;
    append_request(request, host, serialized, signature);
    auto connection = pool.pick(*io_executor, to, host, options_, repeatable, attempt > 0);
    Exchange outcome =
        co_await connection->exchange(std::move(serialized), head, deadline, asio::use_awaitable);
    const bool again = outcome.unanswered && repeatable && attempt == 0 && Clock::now() < deadline;
    if (!again) co_return std::move(outcome.result);
  }
}

ClientResult fetch(const core::Endpoint& to, const HttpRequest& request,
                   std::chrono::milliseconds timeout, const HttpClientOptions& options) {
  asio::io_context context(1);
  HttpClient client(options);
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
