#pragma once
// An in-process HTTP server on loopback whose answers a unit test scripts (a fake gateway,
// a fake etcd member): it records what it was sent, answers with `reply`, optionally after
// a delay (an answer that is lost to a client's deadline). Plus a port nothing listens on,
// and (run_coroutine.hpp) a way to run one coroutine to its end.
#include <boost/json.hpp>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include "support/loopback_server.hpp"
#include "support/run_coroutine.hpp"

namespace isla::testing {

namespace json = boost::json;

struct Seen {
  std::string method;
  std::string target;
  std::string body;
  std::string authorization;
};

// A server whose answers the test writes: `reply` (default: 200 "{}") and optional delay.
class ScriptedServer {
 public:
  using Reply = std::function<net::HttpResponse(const net::HttpRequest&)>;

  ScriptedServer()
      : server_(1, [this](net::HttpRequest& request) -> asio::awaitable<net::HttpResponse> {
          Reply reply;
          std::chrono::milliseconds delay{0};
          {
            std::lock_guard lock(mutex_);
            seen_.push_back({request.method, request.target, request.body,
                             std::string(request.header("Isla-Auth").value_or(""))});
            reply = reply_;
            delay = delay_;
          }
          if (delay.count() > 0) {
            asio::steady_timer timer(co_await asio::this_coro::executor, delay);
            co_await timer.async_wait(asio::use_awaitable);
          }
          co_return reply ? reply(request) : net::json_response(200, "{}");
        }) {}

  void answer(Reply reply) {
    std::lock_guard lock(mutex_);
    reply_ = std::move(reply);
  }
  void answer_json(int status, json::object body) {
    auto text = json::serialize(body);
    answer([status, text](const net::HttpRequest&) { return net::json_response(status, text); });
  }
  void hang(std::chrono::milliseconds delay) {
    std::lock_guard lock(mutex_);
    delay_ = delay;
  }
  std::vector<Seen> seen() const {
    std::lock_guard lock(mutex_);
    return seen_;
  }
  core::Endpoint endpoint() const { return server_.endpoint(); }

 private:
  mutable std::mutex mutex_;
  std::vector<Seen> seen_;
  Reply reply_;
  std::chrono::milliseconds delay_{0};
  testing::LoopbackServer server_;
};

// A port nothing listens on (a server's, once it stopped).
inline core::Endpoint closed_port() {
  ScriptedServer gone;
  return gone.endpoint();
}

}  // namespace isla::testing
