#pragma once
// Maps method + path to handlers, answers 404 and 405 itself, and records request metrics.
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "net/asio.hpp"
#include "net/http_types.hpp"

namespace isla::net {

class Router {
 public:
  // `tail` is the part of the path after a prefix route's prefix (empty for exact routes).
  using Handler = std::function<asio::awaitable<HttpResponse>(HttpRequest&, std::string_view tail)>;
  // Called once per answered request with the route name ("unmatched" for 404s).
  using Observer = std::function<void(const std::string& route, int status, double seconds)>;

  // Exact path match.
  Router& get(std::string path, std::string route, Handler handler);
  // Every path that starts with `prefix` and has something after it.
  Router& get_prefix(std::string prefix, std::string route, Handler handler);
  Router& add(std::string method, std::string path, bool prefix, std::string route,
              Handler handler);
  void observe_with(Observer observer) { observer_ = std::move(observer); }

  asio::awaitable<HttpResponse> dispatch(HttpRequest& request) const;

 private:
  struct Route {
    std::string method;
    std::string path;
    bool prefix;
    std::string name;
    Handler handler;
  };
  const Route* match(std::string_view path, std::string_view method, std::string* allow) const;

  std::vector<Route> routes_;
  Observer observer_;
};

}  // namespace isla::net
