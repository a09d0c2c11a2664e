#pragma once
// Maps method + path to handlers, answers 404 and 405 itself, and records request metrics.
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "net/asio.hpp"
#include "net/http_types.hpp"

namespace isla::net {

// Who may call a route. Every route names one: a route cannot be added open by omission.
enum class Access {
  anyone,  // anonymous callers too: figures, status, metrics, the dashboard
  read,    // a token with role read or above (store reads, watches)
  write,   // role write or above (store writes, leases)
  admin,   // role admin (membership, tokens)
  node,    // only the island's own nodes, by a request signed with the island secret
};
const char* to_string(Access access);

// Decides whether a request may reach its route (security::Guard is the real one).
class Admission {
 public:
  virtual ~Admission() = default;
  // With the head only, before the body is read; an answer refuses the request. May set
  // head.principal.
  virtual std::optional<HttpResponse> admit(HttpRequest& head, Access required) = 0;
  // With the whole request, before its handler runs (a signed body must be the one signed).
  virtual std::optional<HttpResponse> check_body(const HttpRequest& request) = 0;
};

class Router {
 public:
  // `tail` is the part of the path after a prefix route's prefix (empty for exact routes).
  using Handler = std::function<asio::awaitable<HttpResponse>(HttpRequest&, std::string_view tail)>;
  // Called once per answered request with the route name ("unmatched" for 404s).
  using Observer = std::function<void(const std::string& route, int status, double seconds)>;

  // Exact path match.
  Router& get(std::string path, std::string route, Access access, Handler handler);
  // Every path that starts with `prefix` and has something after it.
  Router& get_prefix(std::string prefix, std::string route, Access access, Handler handler);
  Router& add(std::string method, std::string path, bool prefix, std::string route, Access access,
              Handler handler);
  // Connections that carry a request for route `name` are served from then on by `context`,
  // the thread its handler works on (HttpServerOptions::relocate). Before traffic arrives.
  Router& serve_on(const std::string& name, asio::io_context& context);
  // For HttpServerOptions::relocate: the context of the route `request` takes, if it has one.
  asio::io_context* home_for(const HttpRequest& request) const;
  void observe_with(Observer observer) { observer_ = std::move(observer); }
  // Without one, every route is open (a node without an island secret).
  void guard_with(std::shared_ptr<Admission> admission) { admission_ = std::move(admission); }

  // For HttpServerOptions::admit: the admission's verdict on a head, by its route's access
  // (anyone for a path no route takes: it gets its 404 or 405).
  std::optional<HttpResponse> admit(HttpRequest& head) const;

  asio::awaitable<HttpResponse> dispatch(HttpRequest& request) const;

 private:
  struct Route {
    std::string method;
    std::string path;
    bool prefix;
    std::string name;
    Access access;
    Handler handler;
    asio::io_context* home = nullptr;
  };
  const Route* match(std::string_view path, std::string_view method, std::string* allow) const;

  std::vector<Route> routes_;
  Observer observer_;
  std::shared_ptr<Admission> admission_;
};

}  // namespace isla::net
