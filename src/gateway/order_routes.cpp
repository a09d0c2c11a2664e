#include "gateway/order_routes.hpp"

#include <prometheus/counter.h>
#include <prometheus/registry.h>

#include "core/parse.hpp"
#include "rpc/call.hpp"
#include "security/crypto.hpp"
#include "store/store_http.hpp"

namespace isla::gateway {

namespace json = boost::json;
using net::HttpRequest;
using net::HttpResponse;
using orders::OrderErrorCode;

// GCC 12's false -Wmismatched-new-delete on inlined Asio coroutine frames (as in
// event_log_routes.cpp).
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

namespace {

constexpr std::string_view kTokenPrefix = "token:";
constexpr std::string_view kNodePrefix = "node:";

HttpResponse json_ok(int status, const json::object& body) {
  return net::json_response(status, json::serialize(body));
}

HttpResponse bad_request(const orders::ApiError& error) {
  json::object body{{"error", net::valid_utf8(error.message)}};
  if (!error.field.empty()) {
    body["field"] = net::valid_utf8(error.field);
    body["rule"] = net::valid_utf8(error.rule);
  }
  return json_ok(error.status, body);
}

HttpResponse field_error(std::string field, std::string rule) {
  return bad_request({400, field + ": " + rule, field, rule});
}

json::object stored_json(const orders::Stored& stored, bool with_item) {
  auto body = orders::order_json(stored.order, stored.revision);
  if (with_item) body["item"] = stored.item;
  if (stored.duplicate) body["duplicate"] = true;
  return body;
}

// The parts of a path after /api/orders/.
struct OrderPath {
  std::string id;
  std::string action;  // "", "items", "checkout"
  std::optional<std::int64_t> item;
};

std::optional<OrderPath> parse_path(std::string_view tail) {
  OrderPath path;
  const auto slash = tail.find('/');
  path.id = std::string(tail.substr(0, slash));
  if (slash == std::string_view::npos) return path;
  const std::string_view rest = tail.substr(slash + 1);
  const auto next = rest.find('/');
  path.action = std::string(rest.substr(0, next));
  if (next != std::string_view::npos) {
    if (path.action != "items") return std::nullopt;
    auto n = core::parse_integer<std::int64_t>(rest.substr(next + 1));
    if (!n || *n < 1) return std::nullopt;
    path.item = *n;
  }
  return path;
}

class OrderCounters final : public orders::OrderObserver {
 public:
  explicit OrderCounters(prometheus::Registry& registry)
      : created_(prometheus::BuildCounter()
                     .Name("isla_orders_created_total")
                     .Help("Orders created by this gateway (the store leader's: followers forward "
                           "changes)")
                     .Register(registry)
                     .Add({})),
        added_(prometheus::BuildCounter()
                   .Name("isla_order_items_added_total")
                   .Help("Items added to orders by this gateway")
                   .Register(registry)
                   .Add({})),
        duplicates_(prometheus::BuildCounter()
                        .Name("isla_order_duplicates_suppressed_total")
                        .Help("Order requests found applied already (a retry): answered with "
                              "the first result, not applied again, by operation")
                        .Register(registry)),
        checkouts_(prometheus::BuildCounter()
                       .Name("isla_order_checkouts_total")
                       .Help("Orders checked out by this gateway")
                       .Register(registry)
                       .Add({})),
        conflicts_(prometheus::BuildCounter()
                       .Name("isla_order_conflicts_retried_total")
                       .Help("Order writes refused by their compare-and-swap (another write "
                             "changed the order first) and tried again")
                       .Register(registry)
                       .Add({})) {}

  void on_created() override { created_.Increment(); }
  void on_added() override { added_.Increment(); }
  void on_duplicate(std::string_view operation) override {
    duplicates_.Add({{"operation", std::string(operation)}}).Increment();
  }
  void on_checkout() override { checkouts_.Increment(); }
  void on_conflict_retry() override { conflicts_.Increment(); }

 private:
  prometheus::Counter& created_;
  prometheus::Counter& added_;
  prometheus::Family<prometheus::Counter>& duplicates_;
  prometheus::Counter& checkouts_;
  prometheus::Counter& conflicts_;
};

class OrderApi {
 public:
  OrderApi(OrderRouteDeps deps, OrderRoutesOptions options) : deps_(deps), options_(options) {}

  asio::awaitable<HttpResponse> create(HttpRequest& request, std::string_view) {
    auto subject = order_subject(request);
    if (!subject) co_return no_subject();
    auto parsed = orders::parse_create(request.body);
    if (auto* error = std::get_if<orders::ApiError>(&parsed)) co_return bad_request(*error);
    const auto& body = std::get<orders::CreateBody>(parsed);
    auto created = co_await deps_.service.create(*subject, body.idempotency_key, request.deadline);
    if (!created.ok()) co_return co_await failed(request, *subject, created.error);
    co_return json_ok(created.value->duplicate ? 200 : 201, stored_json(*created.value, false));
  }

  asio::awaitable<HttpResponse> list(HttpRequest& request, std::string_view) {
    auto subject = order_subject(request);
    if (!subject) co_return no_subject();
    std::size_t limit = 100;
    if (auto raw = net::query_param(request.query(), "limit")) {
      auto parsed = core::parse_integer<std::size_t>(*raw);
      if (!parsed || *parsed < 1 || *parsed > options_.max_list_limit) {
        co_return field_error(
            "limit", "must be an integer in [1, " + std::to_string(options_.max_list_limit) + "]");
      }
      limit = *parsed;
    }
    std::string after;
    if (auto raw = net::query_param(request.query(), "after")) {
      if (!orders::is_order_id(*raw)) co_return field_error("after", "must be an order id");
      after = std::string(*raw);
    }
    auto page = co_await deps_.service.list(*subject, after, limit, request.deadline);
    if (!page.ok()) co_return co_await failed(request, *subject, page.error);
    json::array items;
    for (const auto& summary : page.value->orders) items.push_back(orders::summary_json(summary));
    json::object body{{"orders", std::move(items)}};
    body["next"] = page.value->next.empty() ? json::value(nullptr) : json::value(page.value->next);
    co_return json_ok(200, body);
  }

  asio::awaitable<HttpResponse> get(HttpRequest& request, std::string_view tail) {
    auto subject = order_subject(request);
    if (!subject) co_return no_subject();
    auto path = parse_path(tail);
    if (!path || !orders::is_order_id(path->id) || !path->action.empty()) co_return not_a_route();
    auto found = co_await deps_.service.get(*subject, path->id, request.deadline);
    if (!found.ok()) co_return co_await failed(request, *subject, found.error);
    co_return json_ok(200, stored_json(*found.value, false));
  }

  asio::awaitable<HttpResponse> post(HttpRequest& request, std::string_view tail) {
    auto subject = order_subject(request);
    if (!subject) co_return no_subject();
    auto path = parse_path(tail);
    if (!path || !orders::is_order_id(path->id) || path->item) co_return not_a_route();
    if (path->action == "items") {
      auto parsed = orders::parse_add(request.body, deps_.service.options().limits);
      if (auto* error = std::get_if<orders::ApiError>(&parsed)) co_return bad_request(*error);
      const auto& add = std::get<orders::AddRequest>(parsed);
      // A forwarded add was checked against the catalogue of the gateway that forwarded it.
      const bool check_figure = !request.principal.starts_with(kNodePrefix);
      auto added =
          co_await deps_.service.add(*subject, path->id, add, request.deadline, check_figure);
      if (!added.ok()) co_return co_await failed(request, *subject, added.error);
      co_return json_ok(added.value->duplicate ? 200 : 201, stored_json(*added.value, true));
    }
    if (path->action == "checkout") {
      if (!request.body.empty()) {
        auto parsed = orders::parse_create(request.body);  // nothing but an optional key
        if (auto* error = std::get_if<orders::ApiError>(&parsed)) co_return bad_request(*error);
      }
      auto done = co_await deps_.service.checkout(*subject, path->id, request.deadline);
      if (!done.ok()) co_return co_await failed(request, *subject, done.error);
      co_return json_ok(200, stored_json(*done.value, false));
    }
    co_return not_a_route();
  }

  asio::awaitable<HttpResponse> remove(HttpRequest& request, std::string_view tail) {
    auto subject = order_subject(request);
    if (!subject) co_return no_subject();
    auto path = parse_path(tail);
    if (!path || !orders::is_order_id(path->id)) co_return not_a_route();
    if (path->action.empty()) {
      auto removed = co_await deps_.service.remove(*subject, path->id, request.deadline);
      if (!removed.ok()) co_return co_await failed(request, *subject, removed.error);
      co_return json_ok(200, {{"id", path->id}, {"deleted", true}});
    }
    if (path->action == "items" && path->item) {
      auto removed =
          co_await deps_.service.remove_item(*subject, path->id, *path->item, request.deadline);
      if (!removed.ok()) co_return co_await failed(request, *subject, removed.error);
      co_return json_ok(200, stored_json(*removed.value, true));
    }
    co_return not_a_route();
  }

 private:
  static HttpResponse no_subject() {
    return net::json_error(400, "a node's request for orders must name its subject (as=HEX)");
  }

  static HttpResponse not_a_route() {
    return net::json_error(404,
                           "no such order route: /api/orders/ID, /api/orders/ID/items, "
                           "/api/orders/ID/items/N, /api/orders/ID/checkout");
  }

  asio::awaitable<HttpResponse> failed(HttpRequest& request, const std::string& subject,
                                       const orders::OrderError& error) {
    switch (error.code) {
      case OrderErrorCode::not_found:
        co_return net::json_error(404, error.message);
      case OrderErrorCode::closed:
      case OrderErrorCode::key_reused:
      case OrderErrorCode::full:
      case OrderErrorCode::empty:
        co_return net::json_error(409, error.message);
      case OrderErrorCode::unknown_figure:
        co_return json_ok(422, {{"error", net::valid_utf8(error.message)},
                                {"field", "figure"},
                                {"rule", "must be a figure of the island's catalogue"}});
      case OrderErrorCode::contention: {
        auto response = net::json_error(503, error.message);
        response.headers.emplace_back("Retry-After", "1");
        co_return response;
      }
      case OrderErrorCode::store:
      case OrderErrorCode::ok:
        break;
    }
    co_return co_await forward(request, subject, error.store);
  }

  // A change only the store's leader makes: its gateway gets the request as it came, signed
  // by this one, with the subject in the signed target.
  asio::awaitable<HttpResponse> forward(HttpRequest& request, const std::string& subject,
                                        const store::StoreError& error) {
    if (error.code != store::StoreErrorCode::not_leader || error.leader_address.empty()) {
      co_return store::error_response(error);
    }
    int hops = 0;
    if (auto header = request.header(net::kHopsHeader)) {
      hops =
          static_cast<int>(core::parse_integer<std::int64_t>(*header).value_or(options_.max_hops));
    }
    auto leader = core::parse_endpoint(error.leader_address);
    if (hops >= options_.max_hops || !leader) co_return store::error_response(error);
    std::string target(request.path());
    std::string query;
    // Keeps the query but an `as` the caller sent: the forwarded one names the subject.
    std::string_view rest = request.query();
    while (!rest.empty()) {
      const auto amp = rest.find('&');
      const auto part = rest.substr(0, amp);
      if (!part.starts_with("as=") && !part.empty()) {
        query += (query.empty() ? "" : "&") + std::string(part);
      }
      rest = amp == std::string_view::npos ? std::string_view{} : rest.substr(amp + 1);
    }
    query += (query.empty() ? "" : "&") + std::string("as=") + security::to_hex(subject);
    target += "?" + query;
    rpc::CallOptions call{request.deadline,
                          std::string(request.header(net::kRequestIdHeader).value_or("")),
                          hops + 1};
    auto forwarded = rpc::make_request(request.method, target, request.body, call);
    auto outcome = co_await deps_.client.request(*leader, forwarded, request.deadline);
    if (!outcome.ok()) {
      const bool maybe_applied = outcome.error != net::ClientErrorKind::connect;
      co_return store::error_response(
          {maybe_applied ? store::StoreErrorCode::unknown_outcome
                         : store::StoreErrorCode::unavailable,
           "forwarding to the store leader's gateway " + error.leader_address + " failed: " +
               outcome.message + (maybe_applied ? "; retry with the same idempotency key" : ""),
           {}});
    }
    co_return std::move(*outcome.response);
  }

  OrderRouteDeps deps_;
  OrderRoutesOptions options_;
};

}  // namespace

std::optional<std::string> order_subject(const HttpRequest& request) {
  const std::string& principal = request.principal;
  if (principal.empty()) return std::string("anonymous");
  if (principal.starts_with(kTokenPrefix)) {
    const auto slash = principal.rfind('/');
    if (slash == std::string::npos || slash < kTokenPrefix.size()) return std::nullopt;
    return principal.substr(kTokenPrefix.size(), slash - kTokenPrefix.size());
  }
  if (principal.starts_with(kNodePrefix)) {
    auto as = net::query_param(request.query(), "as");
    if (!as) return std::nullopt;
    return security::from_hex(*as);
  }
  return std::nullopt;
}

void add_order_routes(net::Router& router, OrderRouteDeps deps, OrderRoutesOptions options) {
  auto api = std::make_shared<OrderApi>(deps, options);
  using net::Access;
  using store::bind;
  router.add("POST", "/api/orders", false, "order_create", Access::write,
             bind(api, &OrderApi::create));
  router.get("/api/orders", "order_list", Access::read, bind(api, &OrderApi::list));
  router.get_prefix("/api/orders/", "order_get", Access::read, bind(api, &OrderApi::get));
  router.add("POST", "/api/orders/", true, "order_change", Access::write,
             bind(api, &OrderApi::post));
  router.add("DELETE", "/api/orders/", true, "order_delete", Access::write,
             bind(api, &OrderApi::remove));
}

std::shared_ptr<orders::OrderObserver> order_metrics(prometheus::Registry& registry) {
  return std::make_shared<OrderCounters>(registry);
}

}  // namespace isla::gateway
