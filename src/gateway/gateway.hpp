#pragma once
// The intermediary server: learns piece servers from their datagrams and routes figure
// requests to them (ARCHITECTURE.md §1-§4).
#include <filesystem>
#include <string>

#include "core/endpoint.hpp"
#include "gateway/datagram_gate.hpp"
#include "gateway/figure_proxy.hpp"
#include "gateway/overload_policy.hpp"
#include "gateway/routing_table.hpp"
#include "membership/swim.hpp"
#include "net/http_server.hpp"
#include "store/kv_json.hpp"
#include "tasks/autoscale/autoscale_flags.hpp"

namespace isla::gateway {

struct GatewayOptions {
  core::Endpoint listen{"127.0.0.1", 5235};  // HTTP on TCP and membership on UDP
  std::string island = "local";
  std::filesystem::path data_dir = ".isla-data/gateway";
  // The island secret (raw bytes): signs datagrams and node-to-node requests, checks tokens.
  // Empty: nothing is signed or checked (loopback development only).
  std::string secret;
  std::filesystem::path audit_log;  // JSON lines of refusals and admin actions; empty: none
  std::size_t threads = 0;          // I/O threads; 0 = one per core
  std::chrono::milliseconds expire_interval{50};  // how often silent servers are looked for
  // The island store's voters (host:port, 3 or 5); a gateway not among them joins as a
  // learner. Empty: this gateway is the only voter of its own store.
  std::vector<std::string> store_voters;
  // The store back end: empty for the embedded Raft store; "etcd://HOST:PORT[,...]" for an
  // etcd v3 cluster, on which the gateway runs no Raft and elects its leader by etcd lease.
  std::string store_url;
  // Other gateways of this island to join through (unicast; the store's voters are added).
  std::vector<core::Endpoint> seeds;
  // The subnet's broadcast address, where this gateway also listens (on its port) for the
  // hellos of piece servers started with --discover. Empty: none.
  std::string discovery_broadcast;
  // Manifests of external task types (docs/tasks.md); empty: the compiled-in types only.
  std::string task_dir;
  // Runs the task autoscaler (starting local `isla worker` processes) while this gateway
  // leads the island store.
  bool autoscale = false;
  tasks::autoscale::AutoscaleFlags autoscale_flags;
  // --queue nats://...: the NATS servers whose JetStream dispatches tasks; empty: embedded.
  std::vector<std::string> nats_servers;
  std::string secret_file;  // handed on to the workers the autoscaler starts
  // Gateways of other islands the elected bridge exchanges catalogues with.
  std::vector<core::Endpoint> island_peers;
  // The balancers' admin addresses: GET /api/balancers asks them for their status.
  std::vector<core::Endpoint> balancer_admins;
  // The failure detector among this island's gateways (probe interval and timeout, suspicion).
  membership::SwimOptions swim;
  std::chrono::milliseconds store_tick{50};
  std::size_t store_snapshot_entries = 100'000;  // applied entries between snapshots
  // A replica that needs a snapshot gets it streamed in chunks of this size.
  std::size_t store_snapshot_chunk_bytes = 1024 * 1024;
  std::chrono::microseconds store_commit_announce_delay{2000};
  store::KvLimits kv_limits;
  RoutingOptions routing;
  DatagramLimits datagrams;
  ProxyOptions proxy;
  OverloadOptions overload;
  net::HttpServerOptions http;
  // HTTPS to the other gateways (the store's messages, joins and forwarded writes),
  // verified against the island CA (--tls-dir); null: plain HTTP. Piece servers are
  // reached with proxy.tls.
  std::shared_ptr<net::TlsContext> peer_tls;
};

// Runs until SIGINT/SIGTERM, then drains and says bye. Returns the process exit code.
int run_gateway(const GatewayOptions& options);

}  // namespace isla::gateway
