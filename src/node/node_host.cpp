#include "node/node_host.hpp"

#include <prometheus/counter.h>
#include <spdlog/spdlog.h>

#include "security/island_secret.hpp"

namespace isla::node {

NodeHost::NodeHost(NodeOptions options)
    : options_(std::move(options)),
      pool_(options_.threads),
      registry_(std::make_shared<prometheus::Registry>()),
      http_metrics_(*registry_) {
  guard_routes();
  router_.observe_with([this](const std::string& route, int status, double seconds) {
    http_metrics_.observe(route, status, seconds);
    total_.fetch_add(1, std::memory_order_relaxed);
    if (status >= 500) failed_.fetch_add(1, std::memory_order_relaxed);
  });
  // Without a secret every route is open: no head is copied out for a check.
  if (!options_.secret.empty()) {
    options_.http.admit = [this](net::HttpRequest& head) {
      // Behind `isla balancer` the peer is the balancer: the client it signs for is believed
      // (logs, audit), a client's own X-Forwarded-For is not.
      if (auto client = forwarded_->trusted_client(head, security::wall_clock_ms())) {
        head.remote = std::move(*client);
      }
      return router_.admit(head);
    };
  }
  options_.http.relocate = [this](const net::HttpRequest& request) {
    return router_.home_for(request);
  };
  server_ = std::make_unique<net::HttpServer>(
      pool_, options_.listen, options_.http,
      [this](net::HttpRequest& request) { return router_.dispatch(request); });
  server_->start();
  // The membership port is the HTTP port's number, on UDP (ARCHITECTURE.md §1).
  udp_ = std::make_unique<net::UdpEndpoint>(pool_.main(),
                                            core::Endpoint{options_.listen.host, server_->port()});
  options_.listen.port = server_->port();

  router_.get("/metrics", "metrics", net::Access::anyone,
              [this](net::HttpRequest&, std::string_view) -> asio::awaitable<net::HttpResponse> {
                http_metrics_.in_flight().Set(static_cast<double>(server_->in_flight()));
                http_metrics_.stream_unsent_bytes().Set(
                    static_cast<double>(server_->stream_unsent_bytes()));
                const auto refused = server_->refused_connections();
                http_metrics_.set_connections(server_->connections(), refused.listener,
                                              refused.source);
                for (const auto& hook : scrape_hooks_) hook();
                net::HttpResponse response;
                response.content_type = "text/plain; version=0.0.4; charset=utf-8";
                response.body = observability::render(*registry_);
                co_return response;
              });
  router_.get("/healthz", "health", net::Access::anyone,
              [this](net::HttpRequest&, std::string_view) -> asio::awaitable<net::HttpResponse> {
                if (draining_) co_return net::json_error(503, "draining");
                co_return net::json_response(200, R"({"status":"serving"})");
              });
}

namespace {

// The address peers dial this node at, which their signatures name. A wildcard or
// ephemeral listener cannot know it beforehand; the verifier then takes the Host header.
std::string audience_of(const core::Endpoint& listen) {
  const bool wildcard = listen.host == "0.0.0.0" || listen.host == "::" || listen.port == 0;
  return wildcard ? std::string() : listen.str();
}

}  // namespace

void NodeHost::guard_routes() {
  if (options_.audit_log.empty()) {
    audit_ = std::make_unique<observability::NoAudit>();
  } else {
    audit_ = std::make_unique<observability::AuditLog>(options_.audit_log, options_.listen.str());
  }
  if (options_.secret.empty()) return;
  forwarded_ =
      std::make_unique<security::ForwardedVerifier>(options_.secret, audience_of(options_.listen));
  auto& failures = prometheus::BuildCounter()
                       .Name("isla_auth_failures_total")
                       .Help("Requests refused by the trust boundary, by reason")
                       .Register(*registry_);
  auto guard = std::make_shared<security::Guard>(
      security::GuardOptions{options_.secret, audience_of(options_.listen), {}}, *audit_, revoked_);
  guard->count_failures_with([&failures](const std::string& reason) {
    failures.Add({{"reason", reason}}).Increment();
  });
  router_.guard_with(std::move(guard));
}

void NodeHost::set_island(std::string island) {
  std::lock_guard lock(island_mutex_);
  options_.island = std::move(island);
}

observability::NodeIdentity NodeHost::identity() const {
  std::lock_guard lock(island_mutex_);
  return {options_.listen.str(), options_.role, options_.island, draining_.load(), started_};
}

observability::RequestTotals NodeHost::totals() const {
  return {server_->in_flight(), total_.load(), failed_.load()};
}

asio::awaitable<bool> NodeHost::drain() {
  draining_ = true;
  const bool clean = co_await server_->drain();
  if (!clean) spdlog::warn("drain timed out with connections still open");
  co_return clean;
}

int NodeHost::run(net::GracefulStop graceful) {
  net::stop_on_signals(pool_.main(),
                       [this, graceful = std::move(graceful)]() -> asio::awaitable<void> {
                         co_await graceful();
                         spdlog::info("stopped");
                         pool_.stop();
                       });
  spdlog::info("listening address={} role={} threads={}", address(), options_.role, pool_.size());
  pool_.run();
  return 0;
}

}  // namespace isla::node
