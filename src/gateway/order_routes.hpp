#pragma once
// The orders API on a gateway (docs/api.md#orders): conversations whose state lives in the
// island store, so that any gateway continues an order another one started. Reads are
// served here (linearizable reads work on any store replica); a change this gateway cannot
// make (it does not lead the store) goes to the leader's gateway, signed, one hop further,
// naming the caller's subject in the signed target (?as=HEX) since the leader sees the
// node's signature, not the client's token.
#include <memory>

#include "net/http_client.hpp"
#include "net/router.hpp"
#include "orders/order_service.hpp"

namespace prometheus {
class Registry;
}

namespace isla::gateway {

struct OrderRoutesOptions {
  int max_hops = 2;
  std::size_t max_list_limit = 1000;
};

struct OrderRouteDeps {
  orders::OrderService& service;
  const net::HttpClient& client;  // signs what it sends: to forward changes to the leader
};

void add_order_routes(net::Router& router, OrderRouteDeps deps, OrderRoutesOptions options = {});

// Counters for /metrics: orders created, items added, duplicates suppressed, checkouts,
// compare-and-swap conflicts retried.
std::shared_ptr<orders::OrderObserver> order_metrics(prometheus::Registry& registry);

// The subject a request acts for: a client's token subject; for a request a node signed (a
// change forwarded to the leader), the subject it names in `as`; "anonymous" where the
// island has no secret (every route open). nullopt: a signed request that names none.
std::optional<std::string> order_subject(const net::HttpRequest& request);

}  // namespace isla::gateway
