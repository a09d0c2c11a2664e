#pragma once
// `isla balancer`: the HTTP reverse proxy in front of the gateways, driving the socket-free
// core (BackendSet, Picker, HealthCheck, OutlierDetector) with the net layer's server and
// pooled keep-alive client.
//
// Threads: requests run on the pool's io threads. The core has one owner at a time: whoever
// holds `mutex_`, held only to pick or to record an outcome (a few hundred nanoseconds), never
// across I/O. A strand would serialise the same work but cost two thread hops per request.
//
// The service listener (--listen) can be bound and unbound at run time
// (serve_service_address): the active/standby pair binds it on the active balancer only. The
// admin listener (--admin) stays up either way.
#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <atomic>
#include <boost/json.hpp>
#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "balancer/backend_set.hpp"
#include "balancer/health_check.hpp"
#include "balancer/outlier_detector.hpp"
#include "balancer/picker.hpp"
#include "balancer/picker_factory.hpp"
#include "balancer/proxy/admin_request.hpp"
#include "balancer/proxy/hash_key.hpp"
#include "core/endpoint.hpp"
#include "core/random.hpp"
#include "net/http_client.hpp"
#include "net/http_server.hpp"
#include "net/io_pool.hpp"
#include "net/router.hpp"
#include "net/stream_call.hpp"
#include "observability/audit_log.hpp"
#include "security/forwarded_auth.hpp"

namespace isla::balancer {

struct BalancerOptions {
  core::Endpoint listen{"127.0.0.1", 8080};  // the service address
  std::optional<core::Endpoint> admin;       // the admin API; none: no admin listener
  std::vector<BackendSpec> backends;
  Algorithm algorithm = Algorithm::round_robin;
  std::optional<HashKeySpec> hash_key;  // consistent hashing's key; none: random placement
  HealthCheckOptions health;            // inter/fastinter/downinter, fall, rise, init-state
  std::string check_path = "/healthz";
  std::chrono::milliseconds check_timeout{1000};  // a probe unanswered by then failed
  OutlierOptions outlier;
  int max_retries = 2;  // other backends tried after a gateway failure (see retry_policy.hpp)
  // One attempt's budget, within the client's deadline (the server's request timeout).
  std::chrono::milliseconds attempt_timeout{15'000};
  std::chrono::milliseconds connect_timeout{1000};
  std::size_t max_idle_per_backend = 64;  // pooled keep-alive connections per backend and thread
  // HTTP/1.1 pipelining to the backends (net::HttpClientOptions): with more than 1, once
  // `upstream_connections` connections to a backend are busy on a thread, idempotent requests
  // queue behind others on the least loaded one and leave together in one send. 1: one
  // request per connection at a time, as HAProxy and nginx do.
  std::size_t upstream_pipeline = 1;
  std::size_t upstream_connections = 4;
  net::HttpServerOptions http;                   // the service listener: limits, timeouts, TLS
  net::HttpServerOptions admin_http;             // the admin listener
  std::shared_ptr<net::TlsContext> backend_tls;  // HTTPS to the backends when set
  // The island secret (raw bytes): signs X-Forwarded-For for the gateways and checks admin
  // tokens. Empty: nothing is signed and the admin API is open (loopback only).
  std::string secret;
  std::filesystem::path audit_log;  // empty: none
  std::size_t threads = 0;          // io threads; 0: one per core
  bool serve_at_start = true;       // bind --listen in start(); the pair's standby does not
  // Poll this gateway's /api/status for the island's gateways, adding and removing backends.
  std::optional<core::Endpoint> discover_from;
  std::chrono::milliseconds discover_interval{2000};
  std::uint64_t seed = 0;  // the pickers' randomness; 0: from the device
  // Add kBackendHeader (the backend's HOST:PORT) to every answer a backend gave: for tests
  // and debugging (which gateway served this?). Off by default: it shows internal addresses.
  bool name_backend = false;
  // Answers passed on as they arrive instead of whole: GETs of these paths (exactly; the
  // query aside) and any GET that accepts text/event-stream. The gateways' server-sent
  // events never end, so buffering them would hold every event until the attempt timed out.
  std::vector<std::string> stream_paths{"/api/events", "/api/kv/watch"};
  std::chrono::milliseconds stream_idle_timeout{120'000};  // longest silence in a stream
};

inline constexpr std::string_view kBackendHeader = "Isla-Backend";

// The counts of one backend the status page shows beside the core's view.
struct BackendCounters {
  std::uint64_t requests = 0;
  std::uint64_t failures = 0;  // gateway failures and 5xx
  std::uint64_t ejections = 0;
  int check_streak = 0;
};

class Balancer {
 public:
  // Throws std::invalid_argument on bad options (a weight out of range, a backend twice).
  explicit Balancer(BalancerOptions options);
  ~Balancer();
  Balancer(const Balancer&) = delete;
  Balancer& operator=(const Balancer&) = delete;

  // Binds the admin listener, the service listener (serve_at_start) and starts the health
  // checks and discovery. Throws std::runtime_error naming the address that cannot be bound.
  void start();
  net::IoPool& pool() { return pool_; }
  const BalancerOptions& options() const { return options_; }

  // Binds (true) or unbinds (false) the service address at run time. Unbinding closes the
  // listener at once and lets the requests in flight finish (their connections close after
  // the answer). Idempotent. False when binding failed (the address is taken; logged). Any
  // thread; on another than the pool's main one it waits for the main one to do it, so the
  // pool must be running (before start(), call it from the constructing thread only).
  bool serve_service_address(bool serve);
  bool serving() const { return serving_.load(); }
  std::uint16_t service_port() const { return service_port_.load(); }
  std::uint16_t admin_port() const;

  // The active/standby pair beside the proxy (balancer/pair/): what it adds to /api/status
  // under "pair" (null without one), a chance to bring its /metrics series up to date at
  // each scrape, and, on SIGINT/SIGTERM, a call before the drain so that it hands the
  // service address to its peer while the requests in flight here finish.
  struct PairHooks {
    std::function<boost::json::value()> status;
    std::function<void(prometheus::Registry&)> before_scrape;
    std::function<void()> before_drain;
  };
  void set_pair(PairHooks hooks);

  // Graceful stop: unbinds the service address, finishes in-flight requests (within the
  // drain timeout), stops the checks and closes the admin listener. True when nothing was
  // cut off. Run on the pool.
  asio::awaitable<bool> drain();
  // Serves until SIGINT/SIGTERM, then drains; returns the exit code.
  int run();

  boost::json::object status() const;
  boost::json::array backends_json() const;
  std::string metrics_text();

  // Run-time membership (the admin API and discovery). add: false with a message when the
  // address is already a backend; remove: false when it is not one.
  std::optional<std::string> add_backend(const BackendSpec& spec);
  bool remove_backend(const core::Endpoint& endpoint);

 private:
  struct BackendState;
  struct Picked;

  asio::awaitable<net::HttpResponse> proxy(net::HttpRequest& request);
  bool streams(const net::HttpRequest& request) const;
  // One attempt at a backend for a streamed answer: its head, with the open stream in
  // `opened` when the head is a 2xx.
  asio::awaitable<net::ClientResult> open_stream(const core::Endpoint& backend,
                                                 const net::HttpRequest& upstream,
                                                 std::chrono::steady_clock::time_point deadline,
                                                 std::unique_ptr<net::StreamCall>& opened);
  std::optional<Picked> pick(std::optional<std::string_view> key,
                             const std::vector<BackendId>& tried);
  void record(const Picked& picked, const net::ClientResult& result, int outcome_index,
              double seconds);
  bool serve_on_main(bool serve);

  asio::awaitable<void> check_loop();
  asio::awaitable<void> probe(BackendId id, core::Endpoint endpoint);
  asio::awaitable<void> discover_loop();
  void apply_discovery(const std::vector<core::Endpoint>& gateways);
  void add_locked(const BackendSpec& spec, bool discovered);

  void build_admin_routes();
  void register_metrics();

  BalancerOptions options_;
  net::IoPool pool_;
  net::HttpClient client_;
  net::HttpClient check_client_;
  std::unique_ptr<security::ForwardedSigner> signer_;
  std::unique_ptr<observability::AuditSink> audit_;
  std::string proto_;  // "http" or "https", for X-Forwarded-Proto

  // The core and what the proxy keeps per backend; see the threads note above.
  mutable std::mutex mutex_;
  BackendSet backends_;
  core::SeededRandom random_;
  std::unique_ptr<Picker> picker_;
  OutlierDetector outlier_;
  std::map<BackendId, std::unique_ptr<BackendState>> state_;

  // Metrics.
  std::shared_ptr<prometheus::Registry> registry_;
  prometheus::Family<prometheus::Counter>* requests_ = nullptr;
  prometheus::Family<prometheus::Histogram>* latency_ = nullptr;
  prometheus::Family<prometheus::Counter>* transitions_ = nullptr;
  prometheus::Family<prometheus::Counter>* ejections_ = nullptr;
  prometheus::Counter* retries_ = nullptr;
  prometheus::Counter* no_backend_ = nullptr;
  prometheus::Gauge* connections_ = nullptr;
  prometheus::Gauge* in_flight_ = nullptr;
  prometheus::Gauge* backends_up_ = nullptr;
  std::atomic<std::uint64_t> total_requests_{0};
  std::atomic<std::uint64_t> total_retries_{0};

  // Listeners. `service_` and `draining_` are touched on the main context only.
  net::Router admin_router_;
  std::unique_ptr<net::HttpServer> admin_;
  std::unique_ptr<net::HttpServer> service_;
  mutable std::mutex service_mutex_;  // service_ changes on main; /metrics reads it elsewhere
  std::vector<std::shared_ptr<net::HttpServer>> draining_;
  std::atomic<bool> serving_{false};
  std::atomic<std::uint16_t> service_port_{0};
  std::atomic<bool> stopping_{false};
  PairHooks pair_;
  mutable std::mutex pair_mutex_;
  std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
};

const char* to_string(Algorithm algorithm);
// "roundrobin", "leastconn", "p2c", "hash" (HAProxy's names where it has them).
std::optional<Algorithm> parse_algorithm(std::string_view text);

}  // namespace isla::balancer
