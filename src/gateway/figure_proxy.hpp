#pragma once
// Answers GET /api/figures/{name} by asking a piece server that holds the figure, and
// another replica when that one fails or is too slow.
#include <chrono>
#include <string>

#include "core/random.hpp"
#include "gateway/registry.hpp"
#include "net/asio.hpp"
#include "net/http_client.hpp"
#include "net/http_types.hpp"

namespace isla::gateway {

struct ProxyOptions {
  std::chrono::milliseconds attempt_timeout{2000};  // per replica tried
  int max_attempts = 3;                             // replicas tried per request
};

struct ProxyCounters {
  std::atomic<std::uint64_t> retries{0};  // attempts after the first
  std::atomic<std::uint64_t> failed{0};   // requests answered with 5xx
};

class FigureProxy {
 public:
  FigureProxy(Registry& registry, const net::HttpClient& client, core::Random& random,
              ProxyOptions options, std::string island);

  asio::awaitable<net::HttpResponse> figure(const std::string& name,
                                            const net::HttpRequest& request);
  // GET /api/figures: every known figure with its live replicas.
  net::HttpResponse figures() const;

  const ProxyCounters& counters() const { return counters_; }

 private:
  Registry& registry_;
  const net::HttpClient& client_;
  core::Random& random_;
  ProxyOptions options_;
  std::string island_;
  ProxyCounters counters_;
};

}  // namespace isla::gateway
