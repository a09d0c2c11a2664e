#include "balancer/proxy/balancer.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>
#include <future>

#include "balancer/proxy/forwarding.hpp"
#include "balancer/proxy/retry_policy.hpp"
#include "core/clock.hpp"
#include "net/lifecycle.hpp"
#include "observability/metrics.hpp"
#include "security/guard.hpp"

namespace isla::balancer {

using Clock = std::chrono::steady_clock;

namespace {

// The longest the check loop sleeps: a backend added meanwhile waits at most this for its
// first check.
constexpr auto kMaxCheckSleep = std::chrono::milliseconds(100);
// What a streamed answer may have waiting for a slow client before the balancer stops
// reading from the backend.
constexpr std::size_t kStreamBacklogBytes = 256 * 1024;

std::int64_t wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

bool initially_up(InitialState state) {
  return state == InitialState::up || state == InitialState::fully_up;
}

net::HttpResponse no_backend_response(std::size_t backends) {
  boost::json::object body{{"error", "no backend available: every backend is down or ejected"},
                           {"backends", backends}};
  auto response = net::json_response(503, boost::json::serialize(body));
  response.headers.emplace_back("Retry-After", "1");
  return response;
}

net::HttpResponse failed_response(const net::ClientResult& result, const core::Endpoint& backend,
                                  int attempts) {
  const bool timed_out = result.error == net::ClientErrorKind::timeout;
  boost::json::object body{
      {"error", (timed_out ? "backend timed out: " : "backend failed: ") + result.message},
      {"backend", backend.str()},
      {"attempts", attempts}};
  return net::json_response(timed_out ? 504 : 502, boost::json::serialize(body));
}

}  // namespace

const char* to_string(Algorithm algorithm) {
  switch (algorithm) {
    case Algorithm::round_robin:
      return "roundrobin";
    case Algorithm::least_connections:
      return "leastconn";
    case Algorithm::power_of_two:
      return "p2c";
    case Algorithm::consistent_hash:
      return "hash";
  }
  return "?";
}

std::optional<Algorithm> parse_algorithm(std::string_view text) {
  for (auto algorithm : {Algorithm::round_robin, Algorithm::least_connections,
                         Algorithm::power_of_two, Algorithm::consistent_hash}) {
    if (text == to_string(algorithm)) return algorithm;
  }
  return std::nullopt;
}

struct Balancer::BackendState {
  BackendState(HealthCheckOptions options, Clock::time_point now) : health(options, now) {}
  HealthCheck health;
  bool probing = false;
  bool discovered = false;  // added by discovery, which may remove it again
  BackendCounters counters;
  std::string label;                              // host:port, the metrics' label
  std::map<int, prometheus::Counter*> by_status;  // cached series of requests_
  prometheus::Counter* no_answer = nullptr;
  prometheus::Histogram* latency = nullptr;
};

struct Balancer::Picked {
  BackendId id = 0;
  core::Endpoint endpoint;
  BackendState* state = nullptr;  // valid while the backend stays; checked again under lock
};

Balancer::Balancer(BalancerOptions options)
    : options_(std::move(options)),
      pool_(options_.threads),
      random_(options_.seed ? options_.seed : core::seed_from_device()),
      outlier_(backends_, options_.outlier),
      registry_(std::make_shared<prometheus::Registry>()) {
  net::HttpClientOptions client;
  client.connect_timeout = options_.connect_timeout;
  client.max_idle_per_endpoint = options_.max_idle_per_backend;
  client.tls = options_.backend_tls;
  check_client_ = net::HttpClient(client);
  client.pipeline_depth = options_.upstream_pipeline;
  client.connections_per_endpoint = options_.upstream_connections;
  client_ = net::HttpClient(client);
  if (!options_.secret.empty()) {
    signer_ = std::make_unique<security::ForwardedSigner>(options_.secret);
  }
  if (options_.audit_log.empty()) {
    audit_ = std::make_unique<observability::NoAudit>();
  } else {
    audit_ = std::make_unique<observability::AuditLog>(options_.audit_log, options_.listen.str());
  }
  proto_ = options_.http.tls ? "https" : "http";
  ConsistentHashOptions hashing;
  picker_ = make_picker(options_.algorithm, backends_, random_, hashing);
  register_metrics();
  {
    std::lock_guard lock(mutex_);
    for (const auto& spec : options_.backends) add_locked(spec, false);
  }
  build_admin_routes();
}

Balancer::~Balancer() = default;

void Balancer::register_metrics() {
  auto& registry = *registry_;
  requests_ = &prometheus::BuildCounter()
                   .Name("isla_balancer_requests_total")
                   .Help(
                       "Attempts forwarded to backends, by backend and status (\"none\": no "
                       "answer: refused, reset, timed out)")
                   .Register(registry);
  latency_ = &prometheus::BuildHistogram()
                  .Name("isla_balancer_upstream_seconds")
                  .Help("Time from sending an attempt to a backend to its answer or failure")
                  .Register(registry);
  transitions_ = &prometheus::BuildCounter()
                      .Name("isla_balancer_health_transitions_total")
                      .Help("Backends taken down or brought up by the active health checks")
                      .Register(registry);
  ejections_ = &prometheus::BuildCounter()
                    .Name("isla_balancer_ejections_total")
                    .Help("Backends benched by passive outlier detection")
                    .Register(registry);
  retries_ = &prometheus::BuildCounter()
                  .Name("isla_balancer_retries_total")
                  .Help("Requests sent again to another backend after a gateway failure")
                  .Register(registry)
                  .Add({});
  no_backend_ = &prometheus::BuildCounter()
                     .Name("isla_balancer_no_backend_total")
                     .Help("Requests answered 503 because no backend was up")
                     .Register(registry)
                     .Add({});
  connections_ = &prometheus::BuildGauge()
                      .Name("isla_balancer_connections")
                      .Help("Open client connections on the service address")
                      .Register(registry)
                      .Add({});
  in_flight_ = &prometheus::BuildGauge()
                    .Name("isla_balancer_in_flight")
                    .Help("Client requests being served")
                    .Register(registry)
                    .Add({});
  backends_up_ = &prometheus::BuildGauge()
                      .Name("isla_balancer_backends_pickable")
                      .Help("Backends up by the checks and not ejected")
                      .Register(registry)
                      .Add({});
}

void Balancer::add_locked(const BackendSpec& spec, bool discovered) {
  const bool up = initially_up(options_.health.initial);
  const auto id = backends_.add(spec.endpoint, spec.weight, up);
  auto state = std::make_unique<BackendState>(options_.health, Clock::now());
  state->discovered = discovered;
  state->label = spec.endpoint.str();
  const prometheus::Labels none{{"backend", state->label}, {"code", "none"}};
  state->no_answer = &requests_->Add(none);
  const std::vector<double> buckets{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                    0.1,    0.25,  0.5,    1,     2.5,  5,     10};
  state->latency = &latency_->Add({{"backend", state->label}}, buckets);
  state_[id] = std::move(state);
}

std::optional<std::string> Balancer::add_backend(const BackendSpec& spec) {
  std::lock_guard lock(mutex_);
  if (backends_.find(spec.endpoint)) return spec.endpoint.str() + " is already a backend";
  add_locked(spec, false);
  spdlog::info("backend added address={} weight={}", spec.endpoint.str(), spec.weight);
  return std::nullopt;
}

bool Balancer::remove_backend(const core::Endpoint& endpoint) {
  std::lock_guard lock(mutex_);
  const auto id = backends_.find(endpoint);
  if (!id) return false;
  backends_.remove(*id);
  state_.erase(*id);
  spdlog::info("backend removed address={}", endpoint.str());
  return true;
}

std::optional<Balancer::Picked> Balancer::pick(std::optional<std::string_view> key,
                                               const std::vector<BackendId>& tried) {
  std::lock_guard lock(mutex_);
  auto untried = [&](BackendId id) {
    return std::find(tried.begin(), tried.end(), id) == tried.end();
  };
  std::optional<BackendId> chosen;
  // The picker first; it may insist on a backend already tried (a hash key's), so a few
  // draws, then any other pickable backend, least loaded first.
  for (int draw = 0; draw < 3 && !chosen; ++draw) {
    auto id = picker_->pick(key);
    if (!id) return std::nullopt;
    if (untried(*id)) chosen = id;
  }
  if (!chosen) {
    const Backend* best = nullptr;
    for (const auto& backend : backends_.backends()) {
      if (!backend.pickable() || !untried(backend.id)) continue;
      if (!best || backend.active_requests < best->active_requests) best = &backend;
    }
    if (!best) return std::nullopt;
    chosen = best->id;
  }
  picker_->request_started(*chosen);
  return Picked{*chosen, backends_.find(*chosen)->endpoint, state_.at(*chosen).get()};
}

void Balancer::record(const Picked& picked, const net::ClientResult& result, int outcome_index,
                      double seconds) {
  const auto attempt = classify(result);
  std::lock_guard lock(mutex_);
  picker_->request_finished(picked.id);
  auto found = state_.find(picked.id);
  if (found == state_.end()) return;  // removed while the request ran
  auto& state = *found->second;
  ++state.counters.requests;
  if (attempt.outcome != Outcome::success) ++state.counters.failures;
  prometheus::Counter* counter = state.no_answer;
  if (attempt.status) {
    auto& cached = state.by_status[*attempt.status];
    if (!cached) {
      cached =
          &requests_->Add({{"backend", state.label}, {"code", std::to_string(*attempt.status)}});
    }
    counter = cached;
  }
  counter->Increment();
  state.latency->Observe(seconds);
  if (auto ejection = outlier_.record(picked.id, attempt.outcome, Clock::now())) {
    ++state.counters.ejections;
    ejections_->Add({{"backend", state.label}}).Increment();
    spdlog::warn("backend ejected address={} times={} for_ms={}", state.label, ejection->times,
                 core::millis_between(Clock::now(), ejection->until));
  }
  (void)outcome_index;
}

asio::awaitable<net::HttpResponse> Balancer::proxy(net::HttpRequest& request) {
  total_requests_.fetch_add(1, std::memory_order_relaxed);
  // The key is kept as text: the request's headers move into the upstream request.
  std::optional<std::string> key_text;
  if (options_.hash_key) {
    if (auto found = hash_key(request, *options_.hash_key)) key_text.emplace(*found);
  }
  std::optional<std::string_view> key;
  if (key_text) key = *key_text;
  const bool may_repeat = repeatable(request);
  const bool head_request = request.method == "HEAD";
  const bool stream = streams(request);
  ForwardedFrom from{client_ip(request.remote), proto_};
  auto upstream = upstream_request(std::move(request), from, security::kForwardedAuthHeader);
  // With an Idempotency-Key the client may resend it on a fresh connection too.
  if (may_repeat) upstream.idempotent = true;
  if (signer_) upstream.headers.emplace_back(security::kForwardedAuthHeader, std::string());

  std::vector<BackendId> tried;
  std::optional<net::ClientResult> last;
  core::Endpoint last_backend;
  std::unique_ptr<net::StreamCall> opened;
  for (int attempt = 0;; ++attempt) {
    auto picked = pick(key, tried);
    if (!picked) break;
    tried.push_back(picked->id);
    if (attempt > 0) {
      retries_->Increment();
      total_retries_.fetch_add(1, std::memory_order_relaxed);
    }
    const auto destination = picked->endpoint.str();
    if (signer_) upstream.headers.back().second = signer_->sign(upstream, destination, wall_ms());
    const auto started = Clock::now();
    const auto deadline = std::min(request.deadline, started + options_.attempt_timeout);
    // The pooled client is called directly: a coroutine frame more per proxied request
    // would be an allocation on the hottest path, for the rare stream.
    net::ClientResult result;
    if (stream) {
      result = co_await open_stream(picked->endpoint, upstream, deadline, opened);
    } else {
      result = co_await client_.request(picked->endpoint, upstream, deadline);
    }
    const std::chrono::duration<double> took = Clock::now() - started;
    record(*picked, result, attempt, took.count());
    const auto classified = classify(result);
    last = std::move(result);
    last_backend = picked->endpoint;
    const bool time_left = Clock::now() < request.deadline;
    if (!time_left || !should_retry(classified, may_repeat, attempt, options_.max_retries)) break;
  }
  if (!last) {
    no_backend_->Increment();
    std::size_t count = 0;
    {
      std::lock_guard lock(mutex_);
      count = backends_.size();
    }
    co_return no_backend_response(count);
  }
  if (last->response) {
    auto response = std::move(*last->response);
    clean_response(response, head_request);
    if (options_.name_backend) response.headers.emplace_back(kBackendHeader, last_backend.str());
    if (opened) {
      response.stream =
          [call = std::shared_ptr<net::StreamCall>(std::move(opened))](
              net::StreamBacklog& backlog) -> asio::awaitable<std::optional<std::string>> {
        // A client slower than the backend holds the backend back (TCP's window), not
        // the balancer's memory; the gateway cuts off subscribers that fall too far behind.
        co_await backlog.wait_unsent_at_most(kStreamBacklogBytes);
        auto piece = co_await call->next();
        // A backend that died (or went silent) mid-stream must not look like a stream that
        // ended: the client would take what it got for all there was. Cut its body short, as
        // the backend's was, so that it reconnects (with Last-Event-ID) and resumes.
        if (!piece && call->result().error != net::ClientErrorKind::none) backlog.abort();
        co_return piece;
      };
    }
    co_return response;
  }
  auto failed = failed_response(*last, last_backend, static_cast<int>(tried.size()));
  co_return failed;
}

bool Balancer::streams(const net::HttpRequest& request) const {
  if (request.method != "GET") return false;
  if (auto accept = request.header("Accept")) {
    if (accept->find("text/event-stream") != std::string_view::npos) return true;
  }
  const auto path = request.path();
  return std::find(options_.stream_paths.begin(), options_.stream_paths.end(), path) !=
         options_.stream_paths.end();
}

asio::awaitable<net::ClientResult> Balancer::open_stream(const core::Endpoint& backend,
                                                         const net::HttpRequest& upstream,
                                                         Clock::time_point deadline,
                                                         std::unique_ptr<net::StreamCall>& opened) {
  net::StreamOptions stream_options;
  stream_options.head_timeout =
      std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  stream_options.idle_timeout = options_.stream_idle_timeout;
  stream_options.tls = options_.backend_tls;
  auto call = co_await net::StreamCall::open(backend, upstream, stream_options);
  const auto& started = call->result();
  net::ClientResult answer{started.head, started.error, started.message};
  if (answer.ok() && answer.response->status >= 200 && answer.response->status <= 299) {
    opened = std::move(call);
  }
  co_return answer;
}

// --- the service address ---

bool Balancer::serve_service_address(bool serve) {
  if (pool_.main().get_executor().running_in_this_thread()) return serve_on_main(serve);
  std::promise<bool> done;
  auto result = done.get_future();
  asio::post(pool_.main(), [this, serve, &done] { done.set_value(serve_on_main(serve)); });
  return result.get();
}

bool Balancer::serve_on_main(bool serve) {
  if (serve == (service_ != nullptr)) return true;
  if (serve) {
    if (stopping_) return false;
    auto server = std::make_unique<net::HttpServer>(
        pool_, options_.listen, options_.http,
        [this](net::HttpRequest& request) { return proxy(request); });
    try {
      server->start();
    } catch (const std::runtime_error& error) {
      spdlog::error("cannot serve the service address: {}", error.what());
      return false;
    }
    service_port_ = server->port();
    std::lock_guard lock(service_mutex_);
    service_ = std::move(server);
    serving_ = true;
    spdlog::info("serving address={}", options_.listen.str());
    return true;
  }
  std::shared_ptr<net::HttpServer> server;
  {
    std::lock_guard lock(service_mutex_);
    server = std::move(service_);
  }
  server->close_listener();
  serving_ = false;
  spdlog::info("stopped serving address={} in_flight={}", options_.listen.str(),
               server->in_flight());
  draining_.push_back(server);
  asio::co_spawn(
      pool_.main(),
      [this, server]() -> asio::awaitable<void> {
        co_await server->drain();
        std::erase(draining_, server);
      },
      asio::detached);
  return true;
}

std::uint16_t Balancer::admin_port() const {
  return admin_ ? admin_->port() : 0;
}

void Balancer::set_pair(PairHooks hooks) {
  std::lock_guard lock(pair_mutex_);
  pair_ = std::move(hooks);
}

void Balancer::start() {
  if (options_.admin) {
    auto admin_options = options_.admin_http;
    if (!options_.secret.empty()) {
      admin_options.admit = [this](net::HttpRequest& head) { return admin_router_.admit(head); };
    }
    admin_ = std::make_unique<net::HttpServer>(
        pool_, *options_.admin, admin_options,
        [this](net::HttpRequest& request) { return admin_router_.dispatch(request); });
    admin_->start();
  }
  if (options_.serve_at_start) {
    // Not on the pool yet (it runs later): bind here, directly.
    if (!serve_on_main(true)) {
      throw std::runtime_error("cannot listen on " + options_.listen.str());
    }
  }
  asio::co_spawn(pool_.main(), check_loop(), asio::detached);
  if (options_.discover_from) asio::co_spawn(pool_.main(), discover_loop(), asio::detached);
}

asio::awaitable<bool> Balancer::drain() {
  stopping_ = true;
  bool clean = true;
  std::shared_ptr<net::HttpServer> server;
  {
    std::lock_guard lock(service_mutex_);
    server = std::move(service_);
  }
  if (server) {
    server->close_listener();
    serving_ = false;
    clean = co_await server->drain();
  }
  while (!draining_.empty()) {
    auto older = draining_.back();
    clean = co_await older->drain() && clean;
    std::erase(draining_, older);
  }
  if (admin_) co_await admin_->drain();
  co_return clean;
}

int Balancer::run() {
  net::stop_on_signals(pool_.main(), [this]() -> asio::awaitable<void> {
    std::function<void()> hand_over;
    {
      std::lock_guard lock(pair_mutex_);
      hand_over = pair_.before_drain;
    }
    if (hand_over) hand_over();
    const bool clean = co_await drain();
    if (!clean) spdlog::warn("drain timed out with requests still in flight");
    spdlog::info("stopped");
    pool_.stop();
  });
  spdlog::info("balancing address={} admin={} algorithm={} backends={} threads={}",
               options_.listen.str(), options_.admin ? options_.admin->str() : "none",
               to_string(options_.algorithm), options_.backends.size(), pool_.size());
  pool_.run();
  return 0;
}

// --- health checks ---

asio::awaitable<void> Balancer::check_loop() {
  asio::steady_timer timer(co_await asio::this_coro::executor);
  while (!stopping_) {
    const auto now = Clock::now();
    std::vector<std::pair<BackendId, core::Endpoint>> due;
    auto wake = now + kMaxCheckSleep;
    {
      std::lock_guard lock(mutex_);
      for (const auto id : outlier_.tick(now)) {
        if (auto found = state_.find(id); found != state_.end()) {
          spdlog::info("backend back from ejection address={}", found->second->label);
        }
      }
      if (auto next = outlier_.next_return()) wake = std::min(wake, *next);
      for (auto& [id, state] : state_) {
        if (state->probing) continue;
        if (state->health.next_check() <= now) {
          state->probing = true;
          due.emplace_back(id, backends_.find(id)->endpoint);
        } else {
          wake = std::min(wake, state->health.next_check());
        }
      }
      backends_up_->Set(static_cast<double>(backends_.pickable_count()));
    }
    for (auto& [id, endpoint] : due) {
      asio::co_spawn(pool_.main(), probe(id, std::move(endpoint)), asio::detached);
    }
    timer.expires_at(wake);
    co_await timer.async_wait(net::use_nothrow);
  }
}

asio::awaitable<void> Balancer::probe(BackendId id, core::Endpoint endpoint) {
  net::HttpRequest check;
  check.method = "GET";
  check.target = options_.check_path;
  const auto deadline = Clock::now() + options_.check_timeout;
  auto result = co_await check_client_.request(endpoint, check, deadline);
  const bool passed = result.ok() && result.response->status < 400;
  std::lock_guard lock(mutex_);
  auto found = state_.find(id);
  if (found == state_.end()) co_return;  // removed meanwhile
  auto& state = *found->second;
  state.probing = false;
  const auto transition = state.health.record(passed, Clock::now());
  state.counters.check_streak = state.health.streak();
  if (transition == HealthTransition::none) co_return;
  const bool up = transition == HealthTransition::went_up;
  backends_.set_up(id, up);
  const std::string to = up ? "up" : "down";
  transitions_->Add({{"backend", state.label}, {"to", to}}).Increment();
  const auto why =
      result.ok() ? "status " + std::to_string(result.response->status) : result.message;
  if (up) {
    spdlog::info("backend up address={}", state.label);
  } else {
    spdlog::warn("backend down address={} last_check=\"{}\"", state.label, why);
  }
}

// --- discovery ---

asio::awaitable<void> Balancer::discover_loop() {
  asio::steady_timer timer(co_await asio::this_coro::executor);
  while (!stopping_) {
    net::HttpRequest request;
    request.target = "/api/status";
    const auto deadline = Clock::now() + options_.check_timeout;
    auto result = co_await check_client_.request(*options_.discover_from, request, deadline);
    if (result.ok() && result.response->status == 200) {
      boost::system::error_code error;
      auto value = boost::json::parse(result.response->body, error);
      std::vector<core::Endpoint> gateways;
      if (!error && value.is_object()) {
        const auto& object = value.as_object();
        auto take = [&](const boost::json::value* address) {
          if (!address || !address->is_string()) return;
          auto endpoint = parse_backend_address(address->get_string());
          if (auto* parsed = std::get_if<core::Endpoint>(&endpoint)) gateways.push_back(*parsed);
        };
        take(object.if_contains("node"));
        if (const auto* peers = object.if_contains("peers"); peers && peers->is_array()) {
          for (const auto& peer : peers->get_array()) {
            if (!peer.is_object()) continue;
            const auto* state = peer.as_object().if_contains("state");
            if (state && state->is_string() && state->get_string() == "dead") continue;
            take(peer.as_object().if_contains("address"));
          }
        }
      }
      if (!gateways.empty()) apply_discovery(gateways);
    } else {
      spdlog::debug(
          "discovery failed from={} error=\"{}\"", options_.discover_from->str(),
          result.ok() ? "status " + std::to_string(result.response->status) : result.message);
    }
    timer.expires_after(options_.discover_interval);
    co_await timer.async_wait(net::use_nothrow);
  }
}

void Balancer::apply_discovery(const std::vector<core::Endpoint>& gateways) {
  std::lock_guard lock(mutex_);
  for (const auto& endpoint : gateways) {
    if (backends_.find(endpoint)) continue;
    add_locked({endpoint, 1}, true);
    spdlog::info("backend discovered address={}", endpoint.str());
  }
  std::vector<BackendId> gone;
  for (const auto& [id, state] : state_) {
    if (!state->discovered) continue;
    const auto& endpoint = backends_.find(id)->endpoint;
    if (std::find(gateways.begin(), gateways.end(), endpoint) == gateways.end()) gone.push_back(id);
  }
  for (const auto id : gone) {
    spdlog::info("backend no longer discovered address={}", state_.at(id)->label);
    backends_.remove(id);
    state_.erase(id);
  }
}

// --- admin API ---

boost::json::array Balancer::backends_json() const {
  std::lock_guard lock(mutex_);
  boost::json::array out;
  for (const auto& backend : backends_.backends()) {
    const auto& state = *state_.at(backend.id);
    out.push_back({{"address", backend.endpoint.str()},
                   {"weight", backend.weight},
                   {"up", backend.up},
                   {"ejected", backend.ejected},
                   {"pickable", backend.pickable()},
                   {"in_flight", backend.active_requests},
                   {"requests", state.counters.requests},
                   {"failures", state.counters.failures},
                   {"ejections", state.counters.ejections},
                   {"check_streak", state.counters.check_streak},
                   {"discovered", state.discovered}});
  }
  return out;
}

boost::json::object Balancer::status() const {
  const std::chrono::duration<double> uptime = Clock::now() - started_;
  boost::json::object out{
      {"role", "balancer"},
      {"listen", options_.listen.str()},
      {"serving", serving_.load()},
      {"state", stopping_ ? "draining" : "running"},
      {"uptime_s", std::round(uptime.count() * 10) / 10},
      {"algorithm", to_string(options_.algorithm)},
      {"requests", total_requests_.load()},
      {"retries", total_retries_.load()},
      {"health_check",
       {{"path", options_.check_path},
        {"interval_ms", options_.health.interval.count()},
        {"fall", options_.health.fall},
        {"rise", options_.health.rise}}},
  };
  if (options_.hash_key) {
    out["hash_key"] =
        std::string(options_.hash_key->source == HashKeySpec::Source::cookie ? "cookie:"
                                                                             : "header:") +
        options_.hash_key->name;
  }
  out["backends"] = backends_json();
  {
    std::lock_guard lock(pair_mutex_);
    out["pair"] = pair_.status ? pair_.status() : boost::json::value(nullptr);
  }
  return out;
}

std::string Balancer::metrics_text() {
  {
    std::lock_guard lock(service_mutex_);
    connections_->Set(service_ ? static_cast<double>(service_->connections()) : 0.0);
    in_flight_->Set(service_ ? static_cast<double>(service_->in_flight()) : 0.0);
  }
  {
    std::lock_guard lock(pair_mutex_);
    if (pair_.before_scrape) pair_.before_scrape(*registry_);
  }
  return observability::render(*registry_);
}

void Balancer::build_admin_routes() {
  using net::Access;
  using Response = asio::awaitable<net::HttpResponse>;
  if (!options_.secret.empty()) {
    // The address nodes sign for; unknown beforehand on a wildcard or ephemeral listener.
    const bool known = options_.admin && options_.admin->port != 0 &&
                       options_.admin->host != "0.0.0.0" && options_.admin->host != "::";
    auto guard = std::make_shared<security::Guard>(
        security::GuardOptions{options_.secret, known ? options_.admin->str() : "", {}}, *audit_,
        nullptr);
    admin_router_.guard_with(std::move(guard));
  }
  admin_router_.get("/api/status", "status", Access::anyone,
                    [this](net::HttpRequest&, std::string_view) -> Response {
                      auto body = boost::json::serialize(status());
                      co_return net::json_response(200, std::move(body));
                    });
  admin_router_.get("/healthz", "health", Access::anyone,
                    [this](net::HttpRequest&, std::string_view) -> Response {
                      if (stopping_) co_return net::json_error(503, "draining");
                      co_return net::json_response(200, R"({"status":"running"})");
                    });
  admin_router_.get("/metrics", "metrics", Access::anyone,
                    [this](net::HttpRequest&, std::string_view) -> Response {
                      net::HttpResponse response;
                      response.content_type = "text/plain; version=0.0.4; charset=utf-8";
                      response.body = metrics_text();
                      co_return response;
                    });
  admin_router_.get("/api/backends", "backends", Access::anyone,
                    [this](net::HttpRequest&, std::string_view) -> Response {
                      boost::json::object body{{"backends", backends_json()}};
                      auto text = boost::json::serialize(body);
                      co_return net::json_response(200, std::move(text));
                    });
  admin_router_.add(
      "POST", "/api/backends", false, "backends_add", Access::admin,
      [this](net::HttpRequest& request, std::string_view) -> Response {
        auto parsed = parse_backend_body(request.body);
        if (auto* message = std::get_if<std::string>(&parsed)) {
          co_return net::json_error(400, *message);
        }
        const auto& spec = std::get<BackendSpec>(parsed);
        if (auto conflict = add_backend(spec)) {
          co_return net::json_error(409, *conflict);
        }
        audit_->record(
            "backend_added",
            {{"address", spec.endpoint.str()}, {"weight", spec.weight}, {"by", request.principal}});
        boost::json::object body{{"address", spec.endpoint.str()}, {"weight", spec.weight}};
        auto text = boost::json::serialize(body);
        co_return net::json_response(201, std::move(text));
      });
  admin_router_.add(
      "DELETE", "/api/backends/", true, "backends_remove", Access::admin,
      [this](net::HttpRequest& request, std::string_view tail) -> Response {
        auto decoded = net::percent_decode(tail);
        if (!decoded) co_return net::json_error(400, "malformed %-escape in address");
        auto parsed = parse_backend_address(*decoded);
        if (auto* message = std::get_if<std::string>(&parsed)) {
          co_return net::json_error(400, *message);
        }
        const auto& endpoint = std::get<core::Endpoint>(parsed);
        if (!remove_backend(endpoint)) {
          co_return net::json_error(404, endpoint.str() + " is not a backend");
        }
        audit_->record("backend_removed", {{"address", endpoint.str()}, {"by", request.principal}});
        net::HttpResponse removed;
        removed.status = 204;
        co_return removed;
      });
}

}  // namespace isla::balancer
