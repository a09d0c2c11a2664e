#include <spdlog/spdlog.h>

#include "app/commands.hpp"
#include "app/listener_flags.hpp"
#include "app/node_security.hpp"
#include "app/server_flags.hpp"
#include "core/logging.hpp"
#include "gateway/gateway.hpp"
#include "pieces/catalog.hpp"
#include "store/etcd/etcd_store.hpp"
#include "tasks/autoscale/autoscale_flags.hpp"
#include "tasks/jetstream/jetstream_mapping.hpp"

namespace isla::app {

namespace {

std::vector<std::string> parse_voters(const std::string& text) {
  std::vector<std::string> voters;
  if (text.empty()) return voters;
  for (const auto& endpoint : core::parse_endpoint_list(text, 5235))
    voters.push_back(endpoint.str());
  const auto count = voters.size();
  if (count != 1 && count != 3 && count != 5 && count != 7) {
    throw CLI::ValidationError("--store-voters",
                               "give 1, 3, 5 or 7 voters (an odd number: a majority must "
                               "survive), got " +
                                   std::to_string(count));
  }
  return voters;
}

std::vector<core::Endpoint> parse_endpoint_flag(const std::string& flag, const std::string& text) {
  if (text.empty()) return {};
  try {
    return core::parse_endpoint_list(text, 5235);
  } catch (const std::invalid_argument& error) {
    throw CLI::ValidationError(flag, error.what());
  }
}

}  // namespace

void add_gateway_command(CLI::App& app) {
  auto* command = app.add_subcommand("gateway", "Run an intermediary server (port 5235)");
  auto flags = std::make_shared<ServerFlags>();
  auto options = std::make_shared<gateway::GatewayOptions>();
  auto attempt_ms = std::make_shared<long>(options->proxy.attempt_timeout.count());
  auto heartbeat_timeout_ms = std::make_shared<long>(options->routing.heartbeat_timeout.count());
  auto figure_ttl_ms = std::make_shared<long>(options->routing.figure_ttl.count());
  auto datagram_skew_ms = std::make_shared<long>(options->datagrams.replay.max_skew.count());
  add_server_flags(*command, *flags, "127.0.0.1:5235", ".isla-data/gateway");
  auto tls_dir = std::make_shared<std::string>();
  add_listener_flags(*command, options->http, *tls_dir);
  command->add_option("--island", options->island, "Name of this island")
      ->envname("ISLA_ISLAND")
      ->capture_default_str();
  command
      ->add_option("--attempt-timeout-ms", *attempt_ms,
                   "Time one piece server gets to answer before the next replica is tried")
      ->check(CLI::Range(1L, 600'000L))
      ->capture_default_str();
  command
      ->add_option("--upstream-pipeline", options->proxy.upstream_pipeline,
                   "Figure requests in flight on one connection to a piece server (HTTP/1.1 "
                   "pipelining); 1 sends each on a connection of its own")
      ->check(CLI::Range(std::size_t{1}, std::size_t{256}))
      ->capture_default_str();
  command
      ->add_option("--upstream-connections", options->proxy.upstream_connections,
                   "Connections per piece server and gateway thread before figure requests "
                   "share them")
      ->check(CLI::Range(std::size_t{1}, std::size_t{1024}))
      ->capture_default_str();
  command
      ->add_option("--heartbeat-timeout-ms", *heartbeat_timeout_ms,
                   "A piece server silent this long is dropped from routing")
      ->check(CLI::Range(50L, 600'000L))
      ->capture_default_str();
  command
      ->add_option("--figure-ttl-ms", *figure_ttl_ms,
                   "A figure no piece server has announced for this long is forgotten (404 "
                   "instead of 503)")
      ->check(CLI::Range(100L, 86'400'000L))
      ->capture_default_str();
  auto partition_catalog = std::make_shared<std::string>();
  command->add_option("--partition-catalog", *partition_catalog,
                      "Partition this catalogue directory's figures over the piece servers "
                      "by consistent hashing (piece servers started with --partitioned hold "
                      "what the gateways assign them); empty: each piece server serves the "
                      "figures it was started with");
  command
      ->add_option("--replicas", options->routing.placement.replicas,
                   "With --partition-catalog: how many piece servers hold each figure")
      ->check(CLI::Range(std::size_t{1}, std::size_t{16}))
      ->capture_default_str();
  command
      ->add_option("--max-figures-per-server", options->datagrams.max_figures_per_server,
                   "A piece server announcing more figures than this is dropped and counted")
      ->check(CLI::Range(std::size_t{1}, membership::kMaxFiguresPerDatagram))
      ->capture_default_str();
  command
      ->add_option("--datagram-max-skew-ms", *datagram_skew_ms,
                   "With a secret: datagrams stamped further than this from our clock, either "
                   "way, are dropped as stale or future")
      ->check(CLI::Range(1'000L, 3'600'000L))
      ->capture_default_str();
  command
      ->add_option("--datagram-max-senders", options->datagrams.replay.max_senders,
                   "With a secret: senders whose sequence numbers are remembered against "
                   "replays; the least recently heard is forgotten beyond this")
      ->check(CLI::Range(std::size_t{16}, std::size_t{1'000'000}))
      ->capture_default_str();
  auto max_queue_delay_ms = std::make_shared<long>(options->overload.max_queue_delay.count());
  command
      ->add_option("--max-inflight", options->overload.max_inflight,
                   "Figure requests this gateway serves at once; beyond it new ones go to the "
                   "least loaded peer gateway (503 with Retry-After when every peer is "
                   "saturated too). 0: no limit")
      ->check(CLI::Range(std::size_t{0}, std::size_t{1'000'000}))
      ->capture_default_str();
  command
      ->add_option("--max-queue-delay-ms", *max_queue_delay_ms,
                   "Forward new figure requests to peers while this gateway's event loops run "
                   "ready work this late. 0: not checked")
      ->check(CLI::Range(0L, 60'000L))
      ->capture_default_str();
  // The failure detector's timing: isla's defaults detect a crash within a second; memberlist's
  // (1000, 500, 4) are the reference bench/failure_detection.sh compares them with.
  auto probe_interval_ms = std::make_shared<long>(options->swim.probe_interval.count());
  auto probe_timeout_ms = std::make_shared<long>(options->swim.probe_timeout.count());
  command
      ->add_option("--probe-interval-ms", *probe_interval_ms,
                   "One other gateway of the island is probed per interval (stretched while "
                   "this gateway is itself slow to answer)")
      ->check(CLI::Range(10L, 60'000L))
      ->capture_default_str();
  command
      ->add_option("--probe-timeout-ms", *probe_timeout_ms,
                   "A probed gateway that has not acked after this long is pinged through "
                   "others; less than --probe-interval-ms")
      ->check(CLI::Range(1L, 60'000L))
      ->capture_default_str();
  command
      ->add_option("--suspicion-multiplier", options->swim.suspicion_multiplier,
                   "A suspected gateway that does not refute is declared dead after this many "
                   "probe intervals (x log10 of the island's size, at least 1); twice that at "
                   "first, shrinking as other gateways confirm the suspicion")
      ->check(CLI::Range(0.5, 100.0))
      ->capture_default_str();
  auto seeds = std::make_shared<std::string>();
  command
      ->add_option("--seeds", *seeds,
                   "Other gateways of this island to join through, HOST:PORT,... (the store's "
                   "voters are always asked too); retried with backoff until one answers")
      ->envname("ISLA_SEEDS");
  command
      ->add_option("--discovery-broadcast", options->discovery_broadcast,
                   "The subnet's broadcast address (e.g. 10.0.0.255): also listen there, on "
                   "this gateway's port, for piece servers that look for gateways with "
                   "--discover")
      ->envname("ISLA_DISCOVERY_BROADCAST");
  command
      ->add_option("--task-dir", options->task_dir,
                   "A directory of external task types, one TOML manifest each "
                   "(docs/tasks.md); submissions of those types are checked against them")
      ->check(CLI::ExistingDirectory)
      ->envname("ISLA_TASK_DIR");
  command
      ->add_flag("--autoscale", options->autoscale,
                 "While this gateway leads the island store, start and drain local `isla "
                 "worker` processes by the queue's load (docs/tasks.md#autoscaler)")
      ->envname("ISLA_AUTOSCALE");
  tasks::autoscale::add_autoscale_flags(*command, options->autoscale_flags);
  auto queue = std::make_shared<std::string>("embedded");
  command
      ->add_option("--queue", *queue,
                   "Where tasks wait for workers: 'embedded' (in the island store) or "
                   "nats://HOST:PORT[,HOST:PORT...], a NATS JetStream cluster (work-queue "
                   "stream, R=min(3, servers); docs/tasks.md#queue-on-nats-jetstream)")
      ->capture_default_str()
      ->envname("ISLA_QUEUE");
  auto island_peers = std::make_shared<std::string>();
  command
      ->add_option("--island-peers", *island_peers,
                   "Gateways of other islands, HOST:PORT,...: this island's elected bridge "
                   "exchanges catalogues with them and forwards requests for their figures")
      ->envname("ISLA_ISLAND_PEERS");
  auto balancer_admins = std::make_shared<std::string>();
  command
      ->add_option("--balancer-admin", *balancer_admins,
                   "Admin addresses of the balancers in front of the island, HOST:PORT,...: "
                   "GET /api/balancers (and the dashboard) shows their state")
      ->envname("ISLA_BALANCER_ADMIN");
  auto voters = std::make_shared<std::string>();
  command
      ->add_option("--store-voters", *voters,
                   "The island store's voters, HOST:PORT,... (1, 3 or 5 gateways; the others "
                   "join as learners). Default: this gateway alone")
      ->envname("ISLA_STORE_VOTERS");
  command
      ->add_option("--store", options->store_url,
                   "The store back end: empty for the embedded Raft store (default), or "
                   "etcd://HOST:PORT[,HOST:PORT...] for an etcd v3 cluster (its client URLs; "
                   "the gateway then runs no Raft, and --store-voters is not used)")
      ->check([](const std::string& url) {
        std::string error;
        if (url.empty() || store::etcd::parse_etcd_url(url, error)) return std::string();
        return "--store: " + error;
      });
  command
      ->add_option("--store-max-value-bytes", options->kv_limits.max_value_bytes,
                   "Largest value the store accepts (larger ones get 413)")
      ->check(CLI::Range(std::size_t{1}, std::size_t{16} << 20))
      ->capture_default_str();
  command
      ->add_option("--store-watch-max-unread-bytes", options->kv_limits.max_watch_unread_bytes,
                   "A watch stream whose client leaves more than this unread is ended with an "
                   "error event saying where to resume")
      ->check(CLI::Range(std::size_t{1} << 10, std::size_t{1} << 30))
      ->capture_default_str();
  command
      ->add_option("--store-max-watchers", options->kv_limits.max_watchers,
                   "Watch streams one gateway serves at once; more are answered 503")
      ->check(CLI::Range(std::size_t{1}, std::size_t{1'000'000}))
      ->capture_default_str();
  command
      ->add_option("--store-snapshot-entries", options->store_snapshot_entries,
                   "Applied entries between snapshots of the store (the log before a snapshot "
                   "is released)")
      ->check(CLI::Range(std::size_t{10}, std::size_t{10'000'000}))
      ->capture_default_str();
  command
      ->add_option("--store-snapshot-chunk-bytes", options->store_snapshot_chunk_bytes,
                   "A store snapshot streams to a replica that needs it in chunks of this size, "
                   "one at a time")
      ->check(CLI::Range(std::size_t{4096}, std::size_t{16} << 20))
      ->capture_default_str();
  auto commit_announce_us = std::make_shared<long>(options->store_commit_announce_delay.count());
  command
      ->add_option("--store-commit-announce-us", *commit_announce_us,
                   "How long the store's leader waits for the next write's append to tell the "
                   "followers of a commit before it tells them in a message of its own; 0: at "
                   "once. Followers apply (and their watchers hear) up to this much later")
      ->check(CLI::Range(0L, 1'000'000L))
      ->capture_default_str();
  command->callback([=] {
    core::setup_logging("gateway " + flags->listen, flags->log_level);
    options->listen = parse_listen(flags->listen, 5235);
    options->data_dir = flags->data_dir;
    const auto security = resolve_security(*flags, options->listen);
    options->secret = security.secret;
    options->secret_file = flags->secret_file;
    options->audit_log = security.audit_log;
    options->threads = flags->threads;
    options->proxy.attempt_timeout = std::chrono::milliseconds(*attempt_ms);
    options->routing.heartbeat_timeout = std::chrono::milliseconds(*heartbeat_timeout_ms);
    options->routing.figure_ttl = std::chrono::milliseconds(*figure_ttl_ms);
    if (!partition_catalog->empty()) {
      try {
        for (const auto& figure : pieces::load_catalog(*partition_catalog)) {
          options->routing.catalogue.push_back(figure.name);
        }
      } catch (const pieces::CatalogError& error) {
        throw CLI::ValidationError("--partition-catalog", error.what());
      }
    }
    options->datagrams.replay.max_skew = std::chrono::milliseconds(*datagram_skew_ms);
    options->overload.max_queue_delay = std::chrono::milliseconds(*max_queue_delay_ms);
    options->store_commit_announce_delay = std::chrono::microseconds(*commit_announce_us);
    if (*probe_timeout_ms >= *probe_interval_ms) {
      throw CLI::ValidationError("--probe-timeout-ms",
                                 "must be less than --probe-interval-ms (" +
                                     std::to_string(*probe_interval_ms) +
                                     "): relays are asked within the interval");
    }
    options->swim.probe_interval = std::chrono::milliseconds(*probe_interval_ms);
    options->swim.probe_timeout = std::chrono::milliseconds(*probe_timeout_ms);
    options->store_voters = parse_voters(*voters);
    if (*queue != "embedded") {
      std::string error;
      options->nats_servers = tasks::jetstream::parse_server_list(*queue, error);
      if (options->nats_servers.empty()) throw CLI::ValidationError("--queue", error);
    }
    options->seeds = parse_endpoint_flag("--seeds", *seeds);
    options->island_peers = parse_endpoint_flag("--island-peers", *island_peers);
    options->balancer_admins = parse_endpoint_flag("--balancer-admin", *balancer_admins);
    if (options->balancer_admins.size() > 8) {
      throw CLI::ValidationError("--balancer-admin", "at most 8 balancers");
    }
    options->peer_tls = apply_tls_dir(*tls_dir, options->listen, options->http);
    options->proxy.tls = options->peer_tls;
    exit_with(gateway::run_gateway(*options));
  });
}

}  // namespace isla::app
