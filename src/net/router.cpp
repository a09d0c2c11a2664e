#include "net/router.hpp"

#include <chrono>

namespace isla::net {

const char* to_string(Access access) {
  switch (access) {
    case Access::anyone:
      return "anyone";
    case Access::read:
      return "read";
    case Access::write:
      return "write";
    case Access::admin:
      return "admin";
    case Access::node:
      return "node";
  }
  return "node";
}

Router& Router::get(std::string path, std::string route, Access access, Handler handler) {
  return add("GET", std::move(path), false, std::move(route), access, std::move(handler));
}

Router& Router::get_prefix(std::string prefix, std::string route, Access access, Handler handler) {
  return add("GET", std::move(prefix), true, std::move(route), access, std::move(handler));
}

Router& Router::add(std::string method, std::string path, bool prefix, std::string route,
                    Access access, Handler handler) {
  routes_.push_back({std::move(method), std::move(path), prefix, std::move(route), access,
                     std::move(handler), nullptr});
  return *this;
}

Router& Router::serve_on(const std::string& name, asio::io_context& context) {
  for (auto& route : routes_) {
    if (route.name == name) route.home = &context;
  }
  return *this;
}

asio::io_context* Router::home_for(const HttpRequest& request) const {
  std::string allow;
  const Route* route = match(request.path(), request.method, &allow);
  return route != nullptr ? route->home : nullptr;
}

std::optional<HttpResponse> Router::admit(HttpRequest& head) const {
  if (!admission_) return std::nullopt;
  std::string allow;
  const Route* route = match(head.path(), head.method, &allow);
  return admission_->admit(head, route != nullptr ? route->access : Access::anyone);
}

const Router::Route* Router::match(std::string_view path, std::string_view method,
                                   std::string* allow) const {
  for (const auto& route : routes_) {
    const bool path_matches = route.prefix
                                  ? path.size() > route.path.size() && path.starts_with(route.path)
                                  : path == route.path;
    if (!path_matches) continue;
    if (route.method == method) return &route;
    if (!allow->empty()) *allow += ", ";
    *allow += route.method;
  }
  return nullptr;
}

asio::awaitable<HttpResponse> Router::dispatch(HttpRequest& request) const {
  const auto started = std::chrono::steady_clock::now();
  const auto path = request.path();
  std::string allow;
  const Route* route = match(path, request.method, &allow);
  HttpResponse response;
  std::string name = "unmatched";
  std::optional<HttpResponse> refusal;
  if (admission_) refusal = admission_->check_body(request);
  if (refusal) {
    response = std::move(*refusal);
  } else if (route != nullptr) {
    name = route->name;
    response = co_await route->handler(
        request, route->prefix ? path.substr(route->path.size()) : std::string_view());
  } else if (!allow.empty()) {
    response = json_error(405, "method " + request.method + " is not allowed on " +
                                   std::string(path) + " (allowed: " + allow + ")");
    response.headers.emplace_back("Allow", allow);
  } else {
    response = json_error(
        404, "no such endpoint: " + std::string(path) + " (see docs/api.md for the API)");
  }
  if (observer_) {
    const std::chrono::duration<double> elapsed = std::chrono::steady_clock::now() - started;
    observer_(name, response.status, elapsed.count());
  }
  co_return response;
}

}  // namespace isla::net
