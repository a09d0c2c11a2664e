#include "gateway/balancer_routes.hpp"

#include <boost/asio/deferred.hpp>
#include <boost/asio/experimental/parallel_group.hpp>
#include <memory>

#include "gateway/balancer_view.hpp"
#include "net/http_client.hpp"

namespace isla::gateway {

namespace json = boost::json;

namespace {

net::HttpClientOptions admin_client_options() {
  net::HttpClientOptions options;
  options.connect_timeout = kBalancerStatusTimeout;
  options.max_idle_per_endpoint = 2;
  options.max_response_bytes = 1024 * 1024;
  return options;
}

std::string describe(const net::ClientResult& result) {
  if (result.ok()) return "answered " + std::to_string(result.response->status);
  switch (result.error) {
    case net::ClientErrorKind::connect:
      return "connection refused or unreachable";
    case net::ClientErrorKind::timeout:
      return "no answer within " + std::to_string(kBalancerStatusTimeout.count()) + " ms";
    default:
      return result.message.empty() ? "connection broken" : result.message;
  }
}

class BalancerRoutes {
 public:
  explicit BalancerRoutes(std::vector<core::Endpoint> admins)
      : admins_(std::move(admins)), client_(admin_client_options()) {}

  asio::awaitable<net::HttpResponse> balancers() const;

 private:
  asio::awaitable<net::ClientResult> ask_status(
      core::Endpoint admin, std::chrono::steady_clock::time_point deadline) const;

  std::vector<core::Endpoint> admins_;
  net::HttpClient client_;  // unsigned: the admin /api/status is open to anyone
};

// GCC 12 warns of a mismatched delete for coroutine frames allocated by Asio; see
// event_log_routes.cpp.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
// All balancers at once: a refused connection (a dead balancer on this host) costs nothing,
// a silent one at most kBalancerStatusTimeout, however many there are.
asio::awaitable<net::HttpResponse> BalancerRoutes::balancers() const {
  if (admins_.empty()) {
    auto none = json::serialize(balancers_view({}));
    co_return net::json_response(200, std::move(none));
  }
  const auto deadline = std::chrono::steady_clock::now() + kBalancerStatusTimeout;
  auto executor = co_await asio::this_coro::executor;
  using Ask =
      decltype(asio::co_spawn(executor, asio::awaitable<net::ClientResult>(), asio::deferred));
  std::vector<Ask> asks;
  for (const auto& admin : admins_) {
    asks.push_back(asio::co_spawn(executor, ask_status(admin, deadline), asio::deferred));
  }
  // Named locals: GCC 12 mishandles temporaries inside a co_await expression.
  auto group = asio::experimental::make_parallel_group(std::move(asks));
  const asio::experimental::wait_for_all all;
  auto [order, errors, results] = co_await group.async_wait(all, asio::use_awaitable);
  json::array summaries;
  for (std::size_t k = 0; k < admins_.size(); ++k) {
    const auto& result = results[k];
    if (errors[k] == nullptr && result.ok() && result.response->status == 200) {
      summaries.push_back(summarise_balancer(admins_[k].str(), result.response->body));
    } else {
      summaries.push_back(unreachable_balancer(admins_[k].str(), describe(result)));
    }
  }
  auto body = json::serialize(balancers_view(std::move(summaries)));
  co_return net::json_response(200, std::move(body));
}

asio::awaitable<net::ClientResult> BalancerRoutes::ask_status(
    core::Endpoint admin, std::chrono::steady_clock::time_point deadline) const {
  net::HttpRequest ask;
  ask.target = "/api/status";
  co_return co_await client_.request(admin, ask, deadline);
}
#pragma GCC diagnostic pop

}  // namespace

void add_balancer_routes(net::Router& router, std::vector<core::Endpoint> admins) {
  auto routes = std::make_shared<const BalancerRoutes>(std::move(admins));
  router.get("/api/balancers", "balancers", net::Access::anyone,
             [routes](net::HttpRequest&, std::string_view) -> asio::awaitable<net::HttpResponse> {
               co_return co_await routes->balancers();
             });
}

}  // namespace isla::gateway
