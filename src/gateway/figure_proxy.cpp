#include "gateway/figure_proxy.hpp"

#include <spdlog/spdlog.h>

#include "pieces/api.hpp"
#include "rpc/call.hpp"

namespace isla::gateway {

namespace json = boost::json;
using Clock = std::chrono::steady_clock;

namespace {

class UpstreamCounters final : public net::HttpClientObserver {
 public:
  explicit UpstreamCounters(const ProxyMetrics& metrics) : metrics_(metrics) {}
  void on_request_sent(bool pipelined) override {
    (pipelined ? metrics_.sent_pipelined : metrics_.sent_alone).Increment();
  }

 private:
  ProxyMetrics metrics_;
};

net::HttpClient upstream_client(const ProxyOptions& options, const ProxyMetrics& metrics) {
  net::HttpClientOptions client;
  client.pipeline_depth = options.upstream_pipeline;
  client.connections_per_endpoint = options.upstream_connections;
  client.observer = std::make_shared<UpstreamCounters>(metrics);
  client.signer = options.signer;
  client.tls = options.tls;
  return net::HttpClient(client);
}

}  // namespace

FigureProxy::FigureProxy(Registry& registry, core::Random& random, ProxyOptions options,
                         std::string island, ProxyMetrics metrics)
    : registry_(registry),
      client_(upstream_client(options, metrics)),
      random_(random),
      options_(options),
      island_(std::move(island)),
      metrics_(metrics) {}

namespace {

// Outstanding-request accounting that survives every exit path of an attempt.
class OutstandingGuard {
 public:
  explicit OutstandingGuard(Backend& backend) : backend_(backend) { ++backend_.outstanding; }
  ~OutstandingGuard() { --backend_.outstanding; }
  OutstandingGuard(const OutstandingGuard&) = delete;
  OutstandingGuard& operator=(const OutstandingGuard&) = delete;

 private:
  Backend& backend_;
};

FailureKind failure_kind(const rpc::Error& error) {
  return error.code == rpc::ErrorCode::unavailable ? FailureKind::connect : FailureKind::other;
}

}  // namespace

asio::awaitable<net::HttpResponse> FigureProxy::figure(const std::string& name,
                                                       const net::HttpRequest& request) {
  auto snapshot = registry_.snapshot();
  if (!snapshot->known(name)) {
    co_return net::json_error(404, "unknown figure '" + name + "'");
  }
  std::vector<const Backend*> tried;
  std::vector<std::shared_ptr<Backend>> keep_alive;  // tried backends stay valid while we look
  bool timed_out = false;
  std::string last_error;
  rpc::CallOptions call;
  if (auto id = request.header(net::kRequestIdHeader)) call.request_id = std::string(*id);

  for (int attempt = 0; attempt < options_.max_attempts; ++attempt) {
    auto backend = snapshot->pick(name, tried, random_);
    if (!backend) {
      // The table may have changed since we started (a replica came back or appeared).
      snapshot = registry_.snapshot();
      backend = snapshot->pick(name, tried, random_);
    }
    if (!backend) break;
    if (attempt > 0) metrics_.retries.Increment();
    tried.push_back(backend.get());
    keep_alive.push_back(backend);
    const auto now = Clock::now();
    if (now >= request.deadline) {
      timed_out = true;
      break;
    }
    call.deadline = std::min(request.deadline, now + options_.attempt_timeout);
    rpc::Result<std::string> result;
    {
      // Named, not a temporary in the co_await expression: GCC 12 destroys such
      // temporaries twice (a known coroutine bug).
      const pieces::FigureName wanted{name};
      OutstandingGuard guard(*backend);
      result =
          co_await rpc::call_verbatim(client_, backend->endpoint, pieces::kGetFigure, wanted, call);
    }
    if (result.ok()) {
      registry_.on_success(*backend);
      // The piece server's answer already names it and its island (learnt from our welcome).
      co_return net::json_response(200, std::move(*result.value));
    }
    last_error = result.error.message;
    timed_out = timed_out || result.error.code == rpc::ErrorCode::timeout;
    const bool server_lacks_figure =
        result.error.code == rpc::ErrorCode::remote && result.error.http_status == 404;
    if (!server_lacks_figure) registry_.on_failure(*backend, failure_kind(result.error));
    spdlog::debug("figure attempt failed figure={} server={} error=\"{}\"", name, backend->address,
                  last_error);
    if (!rpc::may_try_another_replica(pieces::kGetFigure, result.error)) break;
  }

  metrics_.failed.Increment();
  if (tried.empty()) {
    auto response = net::json_error(503, "no live piece server holds figure '" + name + "'");
    response.headers.emplace_back("Retry-After", "1");
    co_return response;
  }
  if (timed_out) {
    co_return net::json_error(504, "no piece server answered for figure '" + name + "' in time (" +
                                       std::to_string(tried.size()) +
                                       " tried; last: " + last_error + ")");
  }
  auto response =
      net::json_error(503, "every piece server holding figure '" + name + "' failed (" +
                               std::to_string(tried.size()) + " tried; last: " + last_error + ")");
  response.headers.emplace_back("Retry-After", "1");
  co_return response;
}

json::array FigureProxy::figures() const {
  const auto snapshot = registry_.snapshot();
  json::array list;
  for (const auto& name : snapshot->known_figures) {
    json::array servers;
    if (auto found = snapshot->routable.find(name); found != snapshot->routable.end()) {
      for (const auto& backend : found->second) servers.emplace_back(backend->address);
    }
    json::object figure{{"name", name}, {"servers", std::move(servers)}, {"island", island_}};
    // Partitioned catalogue: where the figure belongs, which `servers` (those that hold it
    // now) match once a move is over.
    if (auto owned = snapshot->owners.find(name); owned != snapshot->owners.end()) {
      figure["owners"] = json::array(owned->second.begin(), owned->second.end());
    }
    list.push_back(std::move(figure));
  }
  return list;
}

}  // namespace isla::gateway
