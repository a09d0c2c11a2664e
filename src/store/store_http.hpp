#pragma once
// What the store's HTTP APIs (kv_api, members_api) share: how a store error becomes an
// answer, the hop that takes a request a follower cannot serve to the leader, and routes.
#include <memory>

#include "net/http_client.hpp"
#include "net/http_types.hpp"
#include "net/router.hpp"
#include "store/store.hpp"

namespace isla::store {

// A JSON error with the status the error's code calls for (docs/api.md).
net::HttpResponse error_response(const StoreError& error);

// For a not_leader error with a known leader: sends `request` to it as it came, one hop
// further (Isla-Hops, at most `max_hops`), and returns the leader's answer. Any other
// error, or one hop too many, is answered here.
asio::awaitable<net::HttpResponse> forward_to_leader(const net::HttpClient& client,
                                                     net::HttpRequest& request,
                                                     const StoreError& error, int max_hops);

// A route handler that calls `method` of the API object, which it keeps alive.
template <class Api, class Method>
net::Router::Handler bind(std::shared_ptr<Api> api, Method method) {
  return [api, method](net::HttpRequest& request, std::string_view tail) {
    return ((*api).*method)(request, tail);
  };
}

}  // namespace isla::store
