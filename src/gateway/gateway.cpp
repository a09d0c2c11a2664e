#include "gateway/gateway.hpp"

#include "consensus/raft_rpc.hpp"

#include <spdlog/spdlog.h>

#include <boost/json.hpp>
#include <mutex>
#include <set>

#include "clocks/event_json.hpp"
#include "core/parse.hpp"
#include "core/random.hpp"
#include "gateway/balancer_routes.hpp"
#include "gateway/event_log_routes.hpp"
#include "gateway/island_bridge.hpp"
#include "gateway/island_membership.hpp"
#include "gateway/load_meter.hpp"
#include "gateway/order_routes.hpp"
#include "gateway/peer_forwarder.hpp"
#include "gateway/peers.hpp"
#include "gateway/registry.hpp"
#include "gateway/revocation_feed.hpp"
#include "gateway/route_changes.hpp"
#include "gateway/snapshot_metrics.hpp"
#include "gateway/status_view.hpp"
#include "gateway/task_service.hpp"
#include "gateway/token_routes.hpp"
#include "membership/datagram.hpp"
#include "node/node_host.hpp"
#include "pieces/api.hpp"
#include "security/island_secret.hpp"
#include "security/request_auth.hpp"
#include "store/etcd/etcd_election.hpp"
#include "store/etcd/etcd_store.hpp"
#include "store/kv_api.hpp"
#include "store/members_api.hpp"
#include "store/raft_leadership.hpp"
#include "store/raft_store.hpp"
#include "store/store_metrics.hpp"
#include "web/assets.hpp"

namespace isla::gateway {

namespace json = boost::json;
using membership::DatagramType;

namespace {

// Peers a request is offered to before this gateway serves it itself (when a peer cannot be
// reached; a peer that answers, even with an error, has served it).
constexpr std::size_t kForwardAttempts = 2;
// Gateways tried for a figure of another island: our bridge and that island's first few.
constexpr std::size_t kRemoteAttempts = 4;

// How often the load this gateway reports (queueing delay, p99, CPU) is recomputed.
constexpr auto kLoadSampleInterval = std::chrono::milliseconds(100);

// How long a leaving gateway spends telling other islands it goes.
constexpr auto kIslandByeBudget = std::chrono::seconds(1);

// How long a leaving leader tries to hand leadership over before it goes anyway.
constexpr auto kHandOver = std::chrono::seconds(1);

// A gateway just started has an empty routing table and knows no other island until its
// piece servers' heartbeats (every 200 ms; silent 700 ms means dead) and its bridge's news
// (a round every 500 ms) reach it. For this long it does not answer 404 to a figure it has
// not heard of; it waits for the figure, looking this often.
constexpr auto kWarmUp = std::chrono::seconds(2);
constexpr auto kWarmUpPoll = std::chrono::milliseconds(20);

ProxyMetrics proxy_metrics(prometheus::Registry& registry) {
  auto& upstream = prometheus::BuildCounter()
                       .Name("isla_upstream_requests_total")
                       .Help(
                           "Figure requests sent to piece servers: on a connection of their "
                           "own, or pipelined behind others on a busy one")
                       .Register(registry);
  return ProxyMetrics{prometheus::BuildCounter()
                          .Name("isla_figure_retries_total")
                          .Help("Figure requests retried on another replica")
                          .Register(registry)
                          .Add({}),
                      prometheus::BuildCounter()
                          .Name("isla_figure_failures_total")
                          .Help("Figure requests that no replica could answer")
                          .Register(registry)
                          .Add({}),
                      upstream.Add({{"connection", "own"}}),
                      upstream.Add({{"connection", "pipelined"}})};
}

// The store's replicas speak from the address they listen on, so that a peer, or a firewall
// rule, tells them apart also when they share a host's loopback.
net::HttpClientOptions store_client_options(const GatewayOptions& gateway,
                                            std::shared_ptr<const net::RequestSigner> signer) {
  net::HttpClientOptions options;
  options.local_address = gateway.listen.host;
  options.tls = gateway.peer_tls;
  options.signer = std::move(signer);
  return options;
}

ProxyOptions signed_proxy(ProxyOptions options, std::shared_ptr<const net::RequestSigner> signer) {
  options.signer = std::move(signer);
  return options;
}

class Gateway {
 public:
  explicit Gateway(const GatewayOptions& options)
      : options_(options),
        random_(core::seed_from_device()),
        incarnation_(static_cast<std::uint64_t>(core::wall_clock_ms())),
        registry_(core::SteadyClock::instance(), options.routing),
        gate_(options.island, !options.secret.empty(), options.datagrams),
        signer_(security::make_node_signer(options.secret, options.listen.str())),
        client_(store_client_options(options, signer_)),
        host_(node::NodeOptions{options.listen, "gateway", options.island, options.threads,
                                options.http, options.secret, options.audit_log}),
        proxy_(registry_, random_, signed_proxy(options.proxy, signer_), options.island,
               proxy_metrics(host_.metrics())),
        forwarder_(net::HttpClient(store_client_options(options, signer_))),
        forwarded_(prometheus::BuildCounter()
                       .Name("isla_requests_forwarded_total")
                       .Help("Figure requests handed to a peer gateway, by why")
                       .Register(host_.metrics())),
        refused_(prometheus::BuildCounter()
                     .Name("isla_requests_refused_saturated_total")
                     .Help("Figure requests answered 503 because this gateway and its peers "
                           "were saturated")
                     .Register(host_.metrics())
                     .Add({})),
        store_metrics_(host_.metrics()),
        datagrams_(prometheus::BuildCounter()
                       .Name("isla_membership_datagrams_total")
                       .Help("Membership datagrams accepted, by type")
                       .Register(host_.metrics())),
        dropped_(prometheus::BuildCounter()
                     .Name("isla_membership_datagrams_dropped_total")
                     .Help("Membership datagrams dropped, by reason")
                     .Register(host_.metrics())),
        alive_(prometheus::BuildGauge()
                   .Name("isla_piece_servers_alive")
                   .Help("Piece servers that requests may be routed to")
                   .Register(host_.metrics())
                   .Add({})) {
    std::error_code error;
    std::filesystem::create_directories(options.data_dir, error);
    if (error) {
      throw std::runtime_error("cannot create data directory " + options.data_dir.string() + ": " +
                               error.message());
    }
    open_store();
    tasks_ = std::make_unique<TaskService>(*store_, *leadership_, client_, events_, host_.metrics(),
                                           task_options());
    orders_ = std::make_unique<orders::OrderService>(
        *store_, order_options(), std::make_unique<core::SeededRandom>(core::seed_from_device()));
    if (!options.discovery_broadcast.empty()) {
      // Shared: every gateway of the subnet on this host listens on the same address.
      broadcast_udp_ = std::make_unique<net::UdpEndpoint>(
          host_.pool().main(), core::Endpoint{options.discovery_broadcast, options.listen.port},
          true);
    }
    add_routes();
    store::KvApiOptions kv;
    kv.limits = options.kv_limits;
    kv.reply_key = raft_reply_key();
    kv.raft_answer_wait = options.store_tick;
    store::add_kv_routes(host_.router(), *store_, raft_.get(), client_, kv);
    if (raft_) store::add_member_routes(host_.router(), *raft_, client_);
    add_token_routes(host_.router(), *store_, client_, host_.audit());
    tasks_->add_routes(host_.router());
    add_order_routes(host_.router(), {*orders_, client_});
    bridge_.add_routes(host_.router());
    registry_.observe_with([this](const RoutingSnapshot& before, const RoutingSnapshot& after) {
      for (const auto& change : route_changes(before, after)) {
        json::array figures(change.figures.begin(), change.figures.end());
        events_.record_local(
            change.added ? "route_added" : "route_removed",
            json::object{{"server", change.server}, {"figures", std::move(figures)}});
      }
    });
    membership_.add_routes(host_.router());
    add_balancer_routes(host_.router(), options.balancer_admins);
    add_event_log_routes(host_.router(),
                         EventLogSource{events_, client_, host_.address(), incarnation_,
                                        [this] { return live_peers(); }});
    host_.before_scrape([this] {
      if (raft_) store_metrics_.update(raft_->status(), raft_->messages_dropped());
      if (etcd_) update_etcd_metrics();
      tasks_->update_metrics();
    });
  }

  int run() {
    host_.udp().start(
        [this](std::string_view bytes, const core::Endpoint& from) { on_datagram(bytes, from); });
    if (broadcast_udp_) {
      broadcast_udp_->start(
          [this](std::string_view bytes, const core::Endpoint& from) { on_datagram(bytes, from); });
    }
    asio::co_spawn(host_.pool().main(), expire_loop(), asio::detached);
    meter_.start(host_.pool(), kLoadSampleInterval);
    asio::co_spawn(host_.pool().main(), bridge_.run(), asio::detached);
    membership_.start();
    if (raft_) raft_->start();
    if (election_) election_->start(host_.pool().main().get_executor());
    tasks_->start(host_.pool().main().get_executor());
    asio::co_spawn(
        host_.pool().main(),
        follow_revocations(*store_, host_.revoked(), [this] { return host_.server().draining(); }),
        asio::detached);
    const int code = host_.run([this]() -> asio::awaitable<void> { co_await leave(); });
    tasks_->stop();
    if (raft_) raft_->stop();
    if (election_) election_->stop();
    return code;
  }

 private:
  // The store back end: the embedded Raft store, or etcd (--store etcd://...) with a leader
  // elected through it.
  void open_store() {
    store_backend_ = &prometheus::BuildGauge()
                          .Name("isla_store_backend")
                          .Help("The store back end in use (1), by name: raft or etcd")
                          .Register(host_.metrics());
    if (options_.store_url.empty()) {
      raft_ = std::make_unique<store::RaftStore>(store_options(), host_.pool(), client_);
      raft_leadership_ = std::make_unique<store::RaftLeadership>(*raft_);
      store_ = raft_.get();
      leadership_ = raft_leadership_.get();
      store_backend_->Add({{"backend", "raft"}}).Set(1);
      return;
    }
    std::string error;
    auto endpoints = store::etcd::parse_etcd_url(options_.store_url, error);
    if (!endpoints) throw std::runtime_error("--store " + options_.store_url + ": " + error);
    store::etcd::EtcdStoreOptions etcd;
    etcd.endpoints = std::move(*endpoints);
    etcd.client.local_address = options_.listen.host;
    etcd_ = std::make_unique<store::etcd::EtcdStore>(std::move(etcd));
    store::etcd::EtcdElectionOptions election;
    election.self = options_.listen.str();
    election_ = std::make_unique<store::etcd::EtcdElection>(*etcd_, std::move(election));
    store_ = etcd_.get();
    leadership_ = election_.get();
    store_backend_->Add({{"backend", "etcd"}}).Set(1);
    auto& healthy = prometheus::BuildGauge()
                        .Name("isla_store_etcd_healthy")
                        .Help("1 while the last etcd request that reached a verdict was answered")
                        .Register(host_.metrics());
    etcd_healthy_ = &healthy.Add({});
    auto& failovers = prometheus::BuildGauge()
                          .Name("isla_store_etcd_failovers")
                          .Help("Requests passed on from one etcd member to the next, so far")
                          .Register(host_.metrics());
    etcd_failovers_ = &failovers.Add({});
    auto& leading = prometheus::BuildGauge()
                        .Name("isla_store_leading")
                        .Help(
                            "1 while this gateway holds the etcd leader election (dispatches "
                            "tasks, runs the autoscaler)")
                        .Register(host_.metrics());
    etcd_leading_ = &leading.Add({});
  }

  void update_etcd_metrics() {
    const auto health = etcd_->health();
    etcd_healthy_->Set(health.healthy ? 1 : 0);
    etcd_failovers_->Set(static_cast<double>(health.failovers));
    etcd_leading_->Set(election_->leading() ? 1 : 0);
  }

  TaskServiceOptions task_options() const {
    TaskServiceOptions tasks{options_.task_dir, std::nullopt, options_.nats_servers};
    if (options_.autoscale) {
      std::vector<std::string> gateways = options_.store_voters;
      if (gateways.empty()) gateways.push_back(options_.listen.str());
      tasks.autoscale = TaskAutoscaleOptions{
          options_.autoscale_flags,    gateways,
          options_.secret_file,        options_.task_dir,
          "w-" + options_.listen.host, (options_.data_dir / "workers").string()};
    }
    return tasks;
  }

  // Orders may name any figure the island's catalogue knows: held here, announced within
  // the routing table's figure TTL (live or not), or held by another island.
  orders::OrderServiceOptions order_options() {
    orders::OrderServiceOptions orders;
    orders.now_ms = [] { return core::wall_clock_ms(); };
    orders.figure_known = [this](std::string_view figure) {
      const std::string name(figure);
      return registry_.snapshot()->known(name) || bridge_.remote().route(name).has_value();
    };
    orders.observer = order_metrics(host_.metrics());
    return orders;
  }

  std::string raft_reply_key() const {
    return options_.secret.empty() ? std::string()
                                   : security::derive_key(options_.secret, "raft-reply");
  }

  store::RaftStoreOptions store_options() {
    store::RaftStoreOptions store;
    store.island = options_.island;
    store.address = options_.listen.str();
    store.voters = options_.store_voters;
    if (store.voters.empty()) store.voters.push_back(store.address);
    store.dir = options_.data_dir / "raft";
    store.tick = options_.store_tick;
    store.snapshot_every = options_.store_snapshot_entries;
    store.snapshot_chunk_bytes = options_.store_snapshot_chunk_bytes;
    store.commit_announce_delay = options_.store_commit_announce_delay;
    store.reply_key = raft_reply_key();
    store.snapshot_observer = snapshot_stream_metrics(host_.metrics());
    store.wal.on_sync = store_metrics_.fsync_observer();
    return store;
  }

  json::object store_status() const {
    if (etcd_) {
      const auto health = etcd_->health();
      json::array endpoints;
      for (const auto& endpoint : etcd_->endpoints())
        endpoints.push_back(json::value(endpoint.str()));
      return {{"backend", "etcd"},
              {"island", options_.island},
              {"endpoints", std::move(endpoints)},
              {"healthy", health.healthy},
              {"endpoint", health.endpoint},
              {"last_error", health.last_error},
              {"revision", health.revision},
              {"failovers", health.failovers},
              {"role", election_->leading() ? "leader" : "follower"},
              {"leader_address", election_->leader_address()}};
    }
    const auto status = raft_->status();
    json::array voters;
    json::array learners;
    for (auto node : status.conf.voters) voters.push_back(json::value(node));
    for (auto node : status.conf.learners) learners.push_back(json::value(node));
    json::object members;
    for (const auto& [node, address] : status.addresses) {
      members[std::to_string(node)] = address;
    }
    return {{"id", status.id},
            {"backend", "raft"},
            {"cluster_id", consensus::cluster_param(raft_->cluster_id())},
            {"island", options_.island},
            {"role", consensus::to_string(status.role)},
            {"term", status.term},
            {"leader", status.leader},
            {"leader_address", status.leader_address},
            {"commit", status.commit},
            {"applied", status.applied},
            {"last_index", status.last_index},
            {"snapshot_index", status.snapshot_index},
            {"revision", raft_->revision()},
            {"voters", std::move(voters)},
            {"learners", std::move(learners)},
            {"members", std::move(members)}};
  }

  // A leader that leaves hands leadership to a follower first, so that the store does not
  // wait an election timeout for a new one (etcd does the same on shutdown).
  asio::awaitable<void> hand_over_leadership() {
    if (election_) {
      // On etcd, the next gateway's campaign takes the key once our lease is revoked.
      co_await election_->resign(std::chrono::steady_clock::now() + kHandOver);
      co_return;
    }
    const auto status = raft_->status();
    if (status.role != consensus::Role::leader || status.conf.voters.size() < 2) co_return;
    const bool handed =
        co_await raft_->hand_over_leadership(std::chrono::steady_clock::now() + kHandOver);
    const auto after = raft_->status();
    if (!handed) {
      spdlog::warn("store leadership not handed over within {} ms; the others will elect a leader",
                   std::chrono::milliseconds(kHandOver).count());
    } else {
      spdlog::info("store leadership handed over to={} term={}", after.leader_address, after.term);
    }
  }

  void add_routes() {
    auto& router = host_.router();
    router.get("/api/figures", "figures", net::Access::anyone,
               [this](net::HttpRequest&, std::string_view) -> asio::awaitable<net::HttpResponse> {
                 co_return figures();
               });
    router.get_prefix("/api/figures/", "figure", net::Access::anyone,
                      [this](net::HttpRequest& request,
                             std::string_view tail) -> asio::awaitable<net::HttpResponse> {
                        auto name = pieces::figure_name_from_path(tail);
                        if (!name) {
                          co_return net::json_error(
                              400, "invalid figure name: use 1-64 characters of a-z, 0-9 and '-'");
                        }
                        co_return co_await serve_figure(*name, request);
                      });
    router.get("/api/status", "status", net::Access::anyone,
               [this](net::HttpRequest&, std::string_view) -> asio::awaitable<net::HttpResponse> {
                 co_return status();
               });
    for (const auto& asset : web::assets()) {
      const std::string path = asset.path == "/index.html" ? "/" : std::string(asset.path);
      router.get(
          path, "dashboard", net::Access::anyone,
          [&asset](net::HttpRequest&, std::string_view) -> asio::awaitable<net::HttpResponse> {
            net::HttpResponse response;
            response.content_type = std::string(asset.content_type);
            response.headers.emplace_back("Cache-Control", "no-cache");
            response.body = std::string(asset.body);
            co_return response;
          });
    }
  }

  // This island's figures, then those held only in other islands (with their island).
  net::HttpResponse figures() const {
    auto list = proxy_.figures();
    std::set<std::string> local;
    for (const auto& figure : list) local.insert(std::string(figure.at("name").as_string()));
    for (const auto& island : bridge_.remote().islands()) {
      for (const auto& name : island.figures) {
        if (local.count(name) > 0) continue;
        list.push_back({{"name", name},
                        {"servers", json::array()},
                        {"island", island.island},
                        {"via", island.bridge}});
      }
    }
    return net::json_response(200, json::serialize(json::object{{"figures", std::move(list)}}));
  }

  // A figure no piece server of this island holds, asked of the island that holds it: through
  // our bridge, or, from the bridge (or when ours cannot be reached), from that island's
  // gateways, its bridge first. They answer from their own island only (Isla-Scope).
  asio::awaitable<net::HttpResponse> serve_remote(const RemoteRoute& route,
                                                  const net::HttpRequest& request) {
    std::vector<std::pair<core::Endpoint, net::Headers>> targets;
    const auto bridge = bridge_address();
    if (bridge && *bridge != host_.address() && hops_of(request) < options_.overload.max_hops) {
      if (auto endpoint = core::parse_endpoint(*bridge)) targets.push_back({*endpoint, {}});
    }
    for (const auto& gateway : route.gateways) {
      if (auto endpoint = core::parse_endpoint(gateway)) {
        targets.push_back({*endpoint, {{std::string(kScopeHeader), "island"}}});
      }
    }
    for (std::size_t k = 0; k < targets.size() && k < kRemoteAttempts; ++k) {
      if (auto answer = co_await forwarder_.forward(targets[k].first, request, targets[k].second)) {
        forwarded_.Add({{"reason", "remote_island"}}).Increment();
        co_return std::move(*answer);
      }
    }
    auto response = net::json_error(
        503, "island '" + route.island + "' holds this figure but could not be reached");
    response.headers.emplace_back("Retry-After", "1");
    co_return response;
  }

  // Serves a figure here, or, when this gateway is saturated or leaving, has the least loaded
  // peer serve it (ARCHITECTURE.md §4: forward instead of queueing; hand off when draining).
  asio::awaitable<net::HttpResponse> serve_figure(const std::string& name,
                                                  const net::HttpRequest& request) {
    co_await warm_up_for(name, request);
    if (!request.header(kScopeHeader) && !registry_.snapshot()->known(name)) {
      if (auto remote = bridge_.remote().route(name)) {
        co_return co_await serve_remote(*remote, request);
      }
    }
    std::vector<std::string> tried;
    const int hops = hops_of(request);
    for (std::size_t attempt = 0; attempt < kForwardAttempts; ++attempt) {
      const bool over = saturated(options_.overload, meter_.in_flight(), meter_.queue_delay());
      const bool draining = host_.server().draining();
      if (!over && !draining) break;  // the common path: served here, peers not consulted
      const auto peers = peers_.snapshot();
      const auto decision =
          place(over, draining, hops, options_.overload.max_hops, *peers, tried, random_);
      if (decision.placement == Placement::local) break;
      if (decision.placement == Placement::refuse) {
        refused_.Increment();
        auto response = net::json_error(
            503, "this gateway is saturated and no peer gateway can take the request");
        response.headers.emplace_back("Retry-After", "1");
        co_return response;
      }
      const PeerView peer = *decision.peer;  // the snapshot may be replaced while we wait
      tried.push_back(peer.address);
      if (auto answer = co_await forwarder_.forward(peer.endpoint, request)) {
        forwarded_.Add({{"reason", host_.server().draining() ? "draining" : "saturated"}})
            .Increment();
        co_return std::move(*answer);
      }
    }
    LoadMeter::InFlight counted(meter_);
    co_return co_await proxy_.figure(name, request);
  }

  // Right after start, waits (within the warm-up and the request's deadline) until the
  // figure is known here or, unless the request is scoped to this island, in another
  // island: a rolling restart must not turn the figures of the island into 404s.
  asio::awaitable<void> warm_up_for(const std::string& name, const net::HttpRequest& request) {
    const bool local_only = request.header(kScopeHeader).has_value();
    const auto until = std::min(warm_until_, request.deadline);
    while (std::chrono::steady_clock::now() < until && !registry_.snapshot()->known(name) &&
           (local_only || !bridge_.remote().route(name))) {
      co_await net::sleep_for(kWarmUpPoll);
    }
  }

  // The island's bridge as far as this gateway knows (the ring election's leader).
  std::optional<std::string> bridge_address() const { return membership_.bridge().leader; }
  bool is_bridge() const { return membership_.is_bridge(); }

  IslandCatalogue local_catalogue() const {
    IslandCatalogue catalogue;
    catalogue.island = options_.island;
    catalogue.bridge = bridge_address().value_or("");
    catalogue.gateways.push_back(host_.address());
    // Each snapshot held in a name: a range-for over a member of a temporary shared_ptr would
    // read it after the pointer, and perhaps the snapshot, is gone.
    const auto peers = peers_.snapshot();
    for (const auto& peer : peers->peers) {
      if (peer.state == "alive") catalogue.gateways.push_back(peer.address);
    }
    const auto routes = registry_.snapshot();
    for (const auto& figure : routes->routable) catalogue.figures.push_back(figure.first);
    return catalogue;
  }

  std::vector<core::Endpoint> live_peers() const {
    std::vector<core::Endpoint> out;
    const auto peers = peers_.snapshot();
    for (const auto& peer : peers->peers) {
      if (peer.state == "alive") out.push_back(peer.endpoint);
    }
    return out;
  }

  IslandMembershipOptions membership_options() const {
    IslandMembershipOptions membership;
    membership.island = options_.island;
    membership.self = options_.listen.str();
    membership.incarnation = incarnation_;
    membership.secret = options_.secret;
    membership.swim = options_.swim;
    for (const auto& seed : options_.seeds) membership.seeds.push_back(seed.str());
    for (const auto& voter : options_.store_voters) membership.seeds.push_back(voter);
    return membership;
  }

  GatewayLoad current_load() const {
    GatewayLoad load;
    load.in_flight = static_cast<std::uint32_t>(meter_.in_flight());
    load.capacity = static_cast<std::uint32_t>(options_.overload.max_inflight);
    load.queue_delay_ms = static_cast<std::uint32_t>(meter_.queue_delay().count());
    load.p99_ms = meter_.p99_ms();
    load.cpu_percent = meter_.cpu_percent();
    load.saturated = saturated(options_.overload, meter_.in_flight(), meter_.queue_delay());
    return load;
  }

  IslandBridge make_bridge() {
    BridgeOptions bridge;
    bridge.island = options_.island;
    bridge.self = options_.listen.str();
    bridge.island_peers = options_.island_peers;
    LocalIsland local;
    local.is_bridge = [this] { return is_bridge(); };
    local.catalogue = [this] { return local_catalogue(); };
    local.peers = [this] { return live_peers(); };
    local.on_event = [this](const std::string& kind, const std::string& detail) {
      spdlog::info("island event kind={} {}", kind, detail);
      events_.record_local(kind, json::value(detail));
    };
    return IslandBridge(std::move(bridge), std::move(local),
                        net::HttpClient(store_client_options(options_, signer_)));
  }

  net::HttpResponse status() {
    auto body = observability::node_status(host_.identity(), host_.totals());
    body["incarnation"] = incarnation_;
    body["membership_incarnation"] = membership_.incarnation();
    body["peers"] = peers_json(*peers_.snapshot());
    body["bridge"] = membership_.bridge_json();
    json::array islands;
    for (const auto& island : bridge_.remote().islands()) {
      auto entry = to_json(island);
      entry["figure_count"] = island.figures.size();
      entry.erase("figures");
      islands.push_back(std::move(entry));
    }
    body["remote_islands"] = std::move(islands);
    body["load"] = load_json(current_load());
    body["piece_servers"] = servers_json(registry_.servers());
    body["departed"] = departed_json(registry_.departed());
    body["store"] = store_status();
    body["tasks"] = tasks_->status_json();
    return net::json_response(200, json::serialize(body));
  }

  void count_drop(const std::string& reason, const core::Endpoint& from) {
    dropped_.Add({{"reason", reason}}).Increment();
    spdlog::debug("datagram dropped from={} reason={}", from.str(), reason);
    host_.audit().record("datagram_rejected", {{"source", from.str()}, {"reason", reason}});
  }

  // The MAC is checked first (decode), so nothing unsigned or badly signed reaches the gate
  // and its per-sender replay records.
  void on_datagram(std::string_view bytes, const core::Endpoint& from) {
    auto decoded = membership::decode(bytes, options_.secret);
    if (!decoded.datagram) return count_drop(decoded.rejection, from);
    const auto& datagram = *decoded.datagram;
    if (auto reason = gate_.admit(datagram, from, membership::wall_clock_ms())) {
      return count_drop(*reason, from);
    }
    if (datagram.role == "gateway") {
      membership_.on_datagram(datagram);
      datagrams_.Add({{"type", membership::to_string(datagram.type)}}).Increment();
      return;
    }
    switch (datagram.type) {
      case DatagramType::hello:
      case DatagramType::heartbeat:
        // Unwelcomed, a sender that was refused goes back to hello instead of believing it
        // is routed to.
        if (!registry_.on_announce(datagram)) return count_drop("superseded", from);
        welcome(from, datagram.seq, assignment_for(datagram.node));
        break;
      case DatagramType::bye:
        if (!registry_.on_bye(datagram)) return count_drop("stale_bye", from);
        spdlog::info("bye from piece server address={}", datagram.node);
        break;
      default:  // the failure detector's datagrams went to membership_ above
        break;
    }
    datagrams_.Add({{"type", membership::to_string(datagram.type)}}).Increment();
  }

  membership::Datagram describe(DatagramType type) const {
    membership::Datagram datagram;
    datagram.type = type;
    datagram.node = host_.address();
    datagram.role = "gateway";
    datagram.island = options_.island;
    datagram.incarnation = incarnation_;
    datagram.draining = host_.identity().draining;
    datagram.ts = membership::wall_clock_ms();
    datagram.seq = ++seq_;  // so that piece servers can tell a replayed welcome or bye
    return datagram;
  }

  // Partitioned catalogue: what the piece server is to hold. None in this gateway's first
  // heartbeat timeout: until it has heard every live piece server, a restarted gateway would
  // see a small island and assign each server far more than its share.
  std::optional<std::vector<std::string>> assignment_for(const std::string& server) const {
    if (std::chrono::steady_clock::now() < assign_after_) return std::nullopt;
    return registry_.assignment(server);
  }

  // `assigned`: in a partitioned island, the figures the piece server is to hold.
  void welcome(const core::Endpoint& to, std::uint64_t seq,
               std::optional<std::vector<std::string>> assigned) {
    auto datagram = describe(DatagramType::welcome);
    datagram.ack = seq;
    datagram.assigned = std::move(assigned);
    auto bytes = membership::encode(datagram, options_.secret);
    const bool fits = bytes || !datagram.assigned;
    {
      // Said once per server until its assignment fits again: welcomes go at every heartbeat.
      std::lock_guard lock(oversized_mutex_);
      if (fits) {
        if (datagram.assigned && oversized_.erase(to.str()) > 0) {
          spdlog::info("assignment fits in a welcome again server={}", to.str());
        }
      } else if (oversized_.insert(to.str()).second) {
        spdlog::warn("assignment does not fit in a welcome server={} figures={}", to.str(),
                     datagram.assigned->size());
      }
    }
    if (!fits) {
      // Too many figures for one datagram: the server keeps what it holds (it never drops
      // a figure without an assignment), and the island needs more piece servers.
      datagram.assigned.reset();
      bytes = membership::encode(datagram, options_.secret);
    }
    if (bytes) host_.udp().send(to, *bytes);
  }

  asio::awaitable<void> expire_loop() {
    for (;;) {
      co_await net::sleep_for(options_.expire_interval);
      registry_.expire();
      alive_.Set(static_cast<double>(registry_.routable_count()));
    }
  }

  // ARCHITECTURE.md §4: stop accepting, finish in-flight requests, then say bye.
  asio::awaitable<void> leave() {
    spdlog::info("draining in_flight={}", host_.server().in_flight());
    // Peers stop forwarding to us, and the requests still reaching us go to them.
    membership_.announce_draining();
    co_await hand_over_leadership();
    co_await host_.drain();
    co_await bridge_.say_goodbye(std::chrono::steady_clock::now() + kIslandByeBudget);
    membership_.leave();
    if (auto bytes = membership::encode(describe(DatagramType::bye), options_.secret)) {
      for (const auto& server : registry_.endpoints()) host_.udp().send(server, *bytes);
    }
    // Give the byes a moment to leave the socket before the process exits.
    co_await net::sleep_for(std::chrono::milliseconds(20));
    host_.udp().close();
    if (broadcast_udp_) broadcast_udp_->close();
  }

  GatewayOptions options_;
  std::mutex oversized_mutex_;
  std::set<std::string> oversized_;  // piece servers whose assignment is too big for a welcome
  core::SeededRandom random_;
  std::uint64_t incarnation_;
  std::chrono::steady_clock::time_point warm_until_ = std::chrono::steady_clock::now() + kWarmUp;
  const std::chrono::steady_clock::time_point assign_after_ =
      std::chrono::steady_clock::now() + options_.routing.heartbeat_timeout;
  Registry registry_;
  DatagramGate gate_;                                 // on the UDP receive loop only
  mutable std::atomic<std::uint64_t> seq_{0};         // of the datagrams this gateway sends
  std::shared_ptr<const net::RequestSigner> signer_;  // one per process: one sequence
  net::HttpClient client_;  // the store's: Raft messages, joins, writes forwarded to the leader
  node::NodeHost host_;
  FigureProxy proxy_;
  LoadMeter meter_;
  PeerDirectory peers_;
  PeerForwarder forwarder_;
  clocks::EventLog events_{clocks::EventLogOptions{options_.listen.str(), kEventLogCapacity}};
  IslandMembership membership_{membership_options(),
                               host_.pool().main(),
                               host_.udp(),
                               random_,
                               peers_,
                               events_,
                               net::HttpClient(store_client_options(options_, signer_)),
                               [this] { return current_load(); }};
  IslandBridge bridge_{make_bridge()};
  prometheus::Family<prometheus::Counter>& forwarded_;
  prometheus::Counter& refused_;
  store::StoreMetrics store_metrics_;                    // outlives store_, whose WAL reports to it
  std::unique_ptr<store::RaftStore> raft_;               // the embedded store, or
  std::unique_ptr<store::etcd::EtcdStore> etcd_;         // etcd (--store etcd://)
  std::unique_ptr<store::etcd::EtcdElection> election_;  // with etcd: who leads
  std::unique_ptr<store::RaftLeadership> raft_leadership_;
  store::Store* store_ = nullptr;                       // raft_ or etcd_
  const store::StoreLeadership* leadership_ = nullptr;  // raft_leadership_ or election_
  prometheus::Family<prometheus::Gauge>* store_backend_ = nullptr;
  prometheus::Gauge* etcd_healthy_ = nullptr;
  prometheus::Gauge* etcd_failovers_ = nullptr;
  prometheus::Gauge* etcd_leading_ = nullptr;
  std::unique_ptr<TaskService> tasks_;               // after the store it keeps its queue in
  std::unique_ptr<orders::OrderService> orders_;     // after the store it keeps orders in
  std::unique_ptr<net::UdpEndpoint> broadcast_udp_;  // piece servers' broadcast hellos
  prometheus::Family<prometheus::Counter>& datagrams_;
  prometheus::Family<prometheus::Counter>& dropped_;
  prometheus::Gauge& alive_;
};

}  // namespace

int run_gateway(const GatewayOptions& given) {
  GatewayOptions options = given;
  // Each internal route takes the bodies it needs and no more (only signed requests get as
  // far as a body, but a peer's bug should not cost the gateway its memory): a snapshot
  // chunk; a batch of Raft messages (split past 4 MiB, unless one message alone is larger:
  // an append of a few entries at the store's value limit, which may double as JSON).
  options.http.body_limits_by_prefix.emplace_back("/internal/raft/snapshot",
                                                  options.store_snapshot_chunk_bytes + (64 << 10));
  options.http.body_limits_by_prefix.emplace_back(
      "/internal/raft/messages", (std::size_t{4} << 20) + 4 * options.kv_limits.max_value_bytes);
  options.http.body_limits_by_prefix.emplace_back("/internal/raft/", std::size_t{64} << 10);
  options.http.max_body_bytes =
      std::max(options.http.max_body_bytes, 2 * options.kv_limits.max_value_bytes + 4096);
  Gateway gateway(options);
  return gateway.run();
}

}  // namespace isla::gateway
