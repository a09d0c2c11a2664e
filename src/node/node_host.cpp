#include "node/node_host.hpp"

#include <spdlog/spdlog.h>

namespace isla::node {

NodeHost::NodeHost(NodeOptions options)
    : options_(std::move(options)),
      pool_(options_.threads),
      registry_(std::make_shared<prometheus::Registry>()),
      http_metrics_(*registry_) {
  router_.observe_with([this](const std::string& route, int status, double seconds) {
    http_metrics_.observe(route, status, seconds);
    total_.fetch_add(1, std::memory_order_relaxed);
    if (status >= 500) failed_.fetch_add(1, std::memory_order_relaxed);
  });
  server_ = std::make_unique<net::HttpServer>(
      pool_, options_.listen, options_.http,
      [this](net::HttpRequest& request) { return router_.dispatch(request); });
  server_->start();
  // The membership port is the HTTP port's number, on UDP (ARCHITECTURE.md §1).
  udp_ = std::make_unique<net::UdpEndpoint>(pool_.main(),
                                            core::Endpoint{options_.listen.host, server_->port()});
  options_.listen.port = server_->port();

  router_.get("/metrics", "metrics",
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
  router_.get("/healthz", "health",
              [this](net::HttpRequest&, std::string_view) -> asio::awaitable<net::HttpResponse> {
                if (draining_) co_return net::json_error(503, "draining");
                co_return net::json_response(200, R"({"status":"serving"})");
              });
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
