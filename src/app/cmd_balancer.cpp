#include <spdlog/spdlog.h>

#include "app/balancer_pair.hpp"
#include "app/commands.hpp"
#include "app/listener_flags.hpp"
#include "app/node_security.hpp"
#include "app/server_flags.hpp"
#include "balancer/proxy/balancer.hpp"
#include "balancer/proxy/duration.hpp"
#include "core/logging.hpp"

namespace isla::app {

namespace {

std::chrono::milliseconds duration_flag(const std::string& flag, const std::string& text) {
  try {
    return balancer::parse_duration(text);
  } catch (const std::invalid_argument& error) {
    throw CLI::ValidationError(flag, error.what());
  }
}

std::optional<core::Endpoint> endpoint_flag(const std::string& flag, const std::string& text,
                                            std::uint16_t default_port) {
  if (text.empty()) return std::nullopt;
  auto endpoint = core::parse_endpoint(text, default_port);
  if (!endpoint) throw CLI::ValidationError(flag, "not a HOST:PORT address: '" + text + "'");
  return endpoint;
}

balancer::InitialState initial_state(const std::string& text) {
  if (text == "up") return balancer::InitialState::up;
  if (text == "fully-up") return balancer::InitialState::fully_up;
  if (text == "down") return balancer::InitialState::down;
  return balancer::InitialState::fully_down;
}

}  // namespace

void add_balancer_command(CLI::App& app) {
  auto* command = app.add_subcommand(
      "balancer", "Run the HTTP load balancer in front of the gateways (port 8080)");
  auto flags = std::make_shared<ServerFlags>();
  auto options = std::make_shared<balancer::BalancerOptions>();
  add_server_flags(*command, *flags, "127.0.0.1:8080", ".isla-data/balancer");
  auto tls_dir = std::make_shared<std::string>();
  add_listener_flags(*command, options->http, *tls_dir);
  auto backends = std::make_shared<std::string>();
  command
      ->add_option("--backends", *backends,
                   "Gateways to balance over, HOST:PORT[=WEIGHT],... (weights 1-256)")
      ->envname("ISLA_BACKENDS");
  auto discover = std::make_shared<std::string>();
  command
      ->add_option("--discover-from", *discover,
                   "A gateway whose /api/status lists the island's gateways: they are added "
                   "and removed as backends as the island changes")
      ->envname("ISLA_DISCOVER_FROM");
  auto algorithm = std::make_shared<std::string>("roundrobin");
  command
      ->add_option("--algorithm", *algorithm,
                   "roundrobin (smooth weighted), leastconn, p2c (power of two choices) or "
                   "hash (consistent hashing on --hash-key)")
      ->check(CLI::IsMember({"roundrobin", "leastconn", "p2c", "hash"}))
      ->capture_default_str();
  auto hash_key = std::make_shared<std::string>();
  command->add_option("--hash-key", *hash_key,
                      "With --algorithm hash: the affinity key, cookie:NAME or header:NAME");
  auto admin = std::make_shared<std::string>();
  command
      ->add_option("--admin", *admin,
                   "HOST:PORT of the admin API (/api/status, /metrics, /api/backends)")
      ->envname("ISLA_BALANCER_ADMIN");
  auto interval = std::make_shared<std::string>("2s");
  auto fast_interval = std::make_shared<std::string>();
  auto down_interval = std::make_shared<std::string>();
  auto check_timeout = std::make_shared<std::string>("1s");
  auto attempt_timeout = std::make_shared<std::string>("15s");
  command
      ->add_option("--check-interval", *interval,
                   "Between active health checks of a backend (HAProxy's inter)")
      ->capture_default_str();
  command->add_option("--check-fast-interval", *fast_interval,
                      "Between checks while a backend's state is changing (fastinter; default: "
                      "--check-interval)");
  command->add_option("--check-down-interval", *down_interval,
                      "Between checks of a backend that is down (downinter; default: "
                      "--check-interval)");
  command->add_option("--check-timeout", *check_timeout, "A check unanswered by then failed")
      ->capture_default_str();
  command->add_option("--check-path", options->check_path, "What the health checks GET")
      ->capture_default_str();
  command
      ->add_option("--fall", options->health.fall,
                   "Failed checks in a row that take a backend down")
      ->check(CLI::Range(1, 100))
      ->capture_default_str();
  command
      ->add_option("--rise", options->health.rise,
                   "Passed checks in a row that bring a backend back up")
      ->check(CLI::Range(1, 100))
      ->capture_default_str();
  auto init_state = std::make_shared<std::string>("up");
  command
      ->add_option("--init-state", *init_state,
                   "How a backend starts: fully-up, up (the first failed check takes it down), "
                   "down (the first passed check brings it up) or fully-down")
      ->check(CLI::IsMember({"fully-up", "up", "down", "fully-down"}))
      ->capture_default_str();
  command
      ->add_option("--retries", options->max_retries,
                   "Other backends an idempotent request is sent to after a backend failed "
                   "before answering (or answered 502/503/504)")
      ->check(CLI::Range(0, 10))
      ->capture_default_str();
  command
      ->add_option("--attempt-timeout", *attempt_timeout,
                   "Time a backend gets to answer one attempt")
      ->capture_default_str();
  command
      ->add_option("--max-idle-per-backend", options->max_idle_per_backend,
                   "Idle keep-alive connections kept per backend and I/O thread")
      ->check(CLI::Range(std::size_t{1}, std::size_t{100'000}))
      ->capture_default_str();
  command
      ->add_option("--upstream-pipeline", options->upstream_pipeline,
                   "Idempotent requests in flight on one connection to a backend (HTTP/1.1 "
                   "pipelining) once --upstream-connections are busy; 1: one at a time")
      ->check(CLI::Range(std::size_t{1}, std::size_t{256}))
      ->capture_default_str();
  command
      ->add_option("--upstream-connections", options->upstream_connections,
                   "Connections per backend and I/O thread before pipelined requests share them")
      ->check(CLI::Range(std::size_t{1}, std::size_t{1024}))
      ->capture_default_str();
  command
      ->add_option("--stream-paths", options->stream_paths,
                   "GET paths whose answers pass through as they arrive (server-sent events); "
                   "any GET accepting text/event-stream streams too")
      ->delimiter(',')
      ->capture_default_str();
  command->add_flag("--name-backend", options->name_backend,
                    "Name the backend that answered in an Isla-Backend response header "
                    "(debugging, tests; it shows internal addresses to clients)");
  auto standby = std::make_shared<bool>(false);
  command->add_flag("--standby", *standby,
                    "Start without binding --listen (bind it later through the pair)");
  auto pair = std::make_shared<PairFlags>();
  add_pair_flags(*command, *pair);
  command->callback([=] {
    core::setup_logging("balancer " + flags->listen, flags->log_level);
    options->listen = parse_listen(flags->listen, 8080);
    const auto security = resolve_security(*flags, options->listen);
    options->secret = security.secret;
    options->audit_log = security.audit_log;
    options->threads = flags->threads;
    options->admin = endpoint_flag("--admin", *admin, 8081);
    options->discover_from = endpoint_flag("--discover-from", *discover, 5235);
    try {
      options->backends = balancer::parse_backend_list(*backends);
    } catch (const std::invalid_argument& error) {
      throw CLI::ValidationError("--backends", error.what());
    }
    if (options->backends.empty() && !options->discover_from) {
      throw CLI::ValidationError("--backends", "give --backends HOST:PORT,... or --discover-from");
    }
    options->algorithm = *balancer::parse_algorithm(*algorithm);
    if (!hash_key->empty()) {
      if (options->algorithm != balancer::Algorithm::consistent_hash) {
        throw CLI::ValidationError("--hash-key", "only with --algorithm hash");
      }
      try {
        options->hash_key = balancer::parse_hash_key(*hash_key);
      } catch (const std::invalid_argument& error) {
        throw CLI::ValidationError("--hash-key", error.what());
      }
    } else if (options->algorithm == balancer::Algorithm::consistent_hash) {
      spdlog::warn("--algorithm hash without --hash-key: requests are placed at random");
    }
    options->health.interval = duration_flag("--check-interval", *interval);
    if (!fast_interval->empty()) {
      options->health.fast_interval = duration_flag("--check-fast-interval", *fast_interval);
    }
    if (!down_interval->empty()) {
      options->health.down_interval = duration_flag("--check-down-interval", *down_interval);
    }
    options->health.initial = initial_state(*init_state);
    options->check_timeout = duration_flag("--check-timeout", *check_timeout);
    options->attempt_timeout = duration_flag("--attempt-timeout", *attempt_timeout);
    options->backend_tls = apply_tls_dir(*tls_dir, options->listen, options->http);
    // In a pair on loopback the active member binds --listen when it wins.
    options->serve_at_start = !*standby && (!pair->enabled() || pair->moves_an_interface_address());
    balancer::Balancer balancer(*options);
    balancer.start();
    std::unique_ptr<BalancerPair> member;
    if (pair->enabled()) member = start_pair(*pair, balancer, options->secret, flags->data_dir);
    exit_with(balancer.run());
  });
}

}  // namespace isla::app
