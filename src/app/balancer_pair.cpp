#include "app/balancer_pair.hpp"

#include <spdlog/spdlog.h>

#include "balancer/pair/interface_address.hpp"
#include "balancer/pair/pair_driver.hpp"
#include "balancer/pair/pair_metrics.hpp"
#include "balancer/pair/pair_status.hpp"
#include "balancer/pair/service_address.hpp"
#include "balancer/pair/store_address_lease.hpp"
#include "security/request_auth.hpp"
#include "store/remote_store.hpp"

namespace isla::app {

namespace {

core::Endpoint required_endpoint(const std::string& flag, const std::string& text) {
  auto endpoint = core::parse_endpoint(text);
  if (!endpoint) throw CLI::ValidationError(flag, "not a HOST:PORT address: '" + text + "'");
  return *endpoint;
}

// The store lease (--store-lease): the store client and the lease on it, kept together.
struct StoreFencing {
  std::unique_ptr<store::RemoteStore> store;
  std::unique_ptr<balancer::pair::StoreAddressLease> lease;
};

class RunningPair final : public BalancerPair {
 public:
  RunningPair(balancer::pair::PairOptions options,
              std::unique_ptr<balancer::pair::ServiceAddress> address, StoreFencing fencing,
              balancer::Balancer& proxy)
      : address_(std::move(address)),
        fencing_(std::move(fencing)),
        driver_(proxy.pool().main(), options, *address_, fencing_.lease.get()) {
    balancer::Balancer::PairHooks hooks;
    hooks.status = [this] { return boost::json::value(balancer::pair::to_json(driver_.status())); };
    hooks.before_scrape = [this](prometheus::Registry& registry) {
      std::call_once(metrics_made_,
                     [&] { metrics_ = std::make_unique<balancer::pair::PairMetrics>(registry); });
      metrics_->update(driver_.status());
    };
    // Hand the address over first: the peer serves new requests while ours finish.
    hooks.before_drain = [this] { driver_.stop(); };
    proxy.set_pair(std::move(hooks));
    // On the main context, once the pool runs: claiming the address binds the listener there.
    asio::post(proxy.pool().main(), [this] { driver_.start(); });
  }

 private:
  std::unique_ptr<balancer::pair::ServiceAddress> address_;
  StoreFencing fencing_;  // before the driver, which uses it until destroyed
  balancer::pair::PairDriver driver_;
  std::once_flag metrics_made_;
  std::unique_ptr<balancer::pair::PairMetrics> metrics_;
};

}  // namespace

void add_pair_flags(CLI::App& command, PairFlags& flags) {
  command.add_option(
      "--heartbeat", flags.heartbeat,
      "This balancer's UDP address for the pair's heartbeats (and its id in the "
      "pair); with --peer, only the pair's active member serves the service address");
  command.add_option("--peer", flags.peer, "The other balancer's --heartbeat address");
  command
      .add_option("--priority", flags.priority,
                  "The higher priority is active (then the greater address); a higher one "
                  "coming back takes over")
      ->check(CLI::Range(1u, 1'000'000u))
      ->capture_default_str();
  command
      .add_option("--heartbeat-interval-ms", flags.heartbeat_interval_ms,
                  "The active member's heartbeat period; 4 datagrams go each way per period")
      ->check(CLI::Range(10L, 10'000L))
      ->capture_default_str();
  command
      .add_option("--peer-timeout-ms", flags.peer_timeout_ms,
                  "No datagram from the peer for this long: it is dead and the survivor takes "
                  "the address")
      ->check(CLI::Range(20L, 60'000L))
      ->capture_default_str();
  command.add_option("--pair-term-file", flags.term_file,
                     "The highest term known, kept across restarts (default DATA-DIR/pair.term)");
  command.add_option("--vip", flags.vip,
                     "With --vip-interface: the service address is held on an interface (network "
                     "namespaces, hosts) and announced with gratuitous ARP; --listen is then bound "
                     "from the start (e.g. 0.0.0.0:8080)");
  command.add_option("--vip-interface", flags.vip_interface,
                     "Where the neighbours are: gratuitous ARP goes out there");
  command
      .add_option("--vip-device", flags.vip_device,
                  "The TUN device that holds the VIP and dies with the process; empty: the VIP "
                  "goes on --vip-interface itself (a SIGKILL then leaves it behind)")
      ->capture_default_str();
  command.add_option("--vip-prefix", flags.vip_prefix, "Prefix length of --vip")
      ->check(CLI::Range(1, 32))
      ->capture_default_str();
  command.add_option("--store-lease", flags.store_lease,
                     "GATEWAY[,GATEWAY...]: the active member must also hold the service address's "
                     "lease in the island store (key _isla/balancer/vip/ADDRESS), renewed every "
                     "500 ms; a member that cannot renew it for its TTL gives the address up");
  command
      .add_option("--store-lease-ttl-ms", flags.store_lease_ttl_ms,
                  "The store lease's TTL: after the active member's death the other takes over "
                  "once it lapses")
      ->check(CLI::Range(1000L, 600'000L))
      ->capture_default_str();
}

std::unique_ptr<BalancerPair> start_pair(const PairFlags& flags, balancer::Balancer& proxy,
                                         const std::string& secret,
                                         const std::filesystem::path& data_dir) {
  if (flags.peer.empty()) throw CLI::ValidationError("--peer", "--heartbeat needs --peer");
  if (flags.peer_timeout_ms <= flags.heartbeat_interval_ms / 4) {
    throw CLI::ValidationError("--peer-timeout-ms",
                               "must be longer than a quarter of --heartbeat-interval-ms");
  }
  if (flags.moves_an_interface_address() && flags.vip_interface.empty()) {
    throw CLI::ValidationError("--vip", "--vip needs --vip-interface");
  }
  balancer::pair::PairOptions options;
  options.heartbeat = required_endpoint("--heartbeat", flags.heartbeat);
  options.peer = required_endpoint("--peer", flags.peer);
  options.priority = flags.priority;
  options.heartbeat_interval = std::chrono::milliseconds(flags.heartbeat_interval_ms);
  options.peer_timeout = std::chrono::milliseconds(flags.peer_timeout_ms);
  options.term_file =
      flags.term_file.empty() ? data_dir / "pair.term" : std::filesystem::path(flags.term_file);
  options.secret = secret;
  std::filesystem::create_directories(options.term_file.parent_path());

  std::unique_ptr<balancer::pair::ServiceAddress> address;
  if (flags.moves_an_interface_address()) {
    balancer::pair::InterfaceAddressOptions where;
    where.address = flags.vip;
    where.prefix_length = flags.vip_prefix;
    where.interface = flags.vip_interface;
    where.owned_device = flags.vip_device;
    address = std::make_unique<balancer::pair::InterfaceAddress>(where);
  } else {
    address = std::make_unique<balancer::pair::ListenerAddress>(
        [&proxy](bool serve) {
          if (!proxy.serve_service_address(serve) && serve) {
            throw std::runtime_error("the service address cannot be bound");
          }
        },
        "listener " + proxy.options().listen.str());
  }
  StoreFencing fencing;
  if (!flags.store_lease.empty()) {
    store::RemoteStoreOptions remote;
    try {
      remote.gateways = core::parse_endpoint_list(flags.store_lease, 5235);
    } catch (const std::invalid_argument& error) {
      throw CLI::ValidationError("--store-lease", error.what());
    }
    if (remote.gateways.empty()) throw CLI::ValidationError("--store-lease", "names no gateway");
    if (options.lease_renew_interval * 2 > std::chrono::milliseconds(flags.store_lease_ttl_ms)) {
      throw CLI::ValidationError("--store-lease-ttl-ms",
                                 "must be at least twice the renew interval (500 ms)");
    }
    remote.client.connect_timeout = std::chrono::milliseconds(300);
    remote.client.tls = proxy.options().backend_tls;  // the store's gateways are the backends
    // From the member's own address (its heartbeat host), not whichever the kernel picks:
    // a firewall, or a test, can then tell the two members' store calls apart.
    if (auto self = core::parse_endpoint(flags.heartbeat)) remote.client.local_address = self->host;
    if (secret.empty()) {
      spdlog::warn(
          "--store-lease without an island secret: the store's calls are not signed, "
          "and gateways with a secret refuse them");
    } else {
      remote.client.signer = security::make_node_signer(secret, "balancer/" + flags.heartbeat);
    }
    balancer::pair::StoreLeaseOptions lease;
    const std::string held =
        flags.moves_an_interface_address() ? flags.vip : proxy.options().listen.str();
    // Under isla's own prefix: only nodes and admin tokens write there, so a client with a
    // write token cannot squat on the address.
    lease.key = "_isla/balancer/vip/" + held;
    lease.holder = flags.heartbeat;
    lease.ttl = std::chrono::milliseconds(flags.store_lease_ttl_ms);
    fencing.store = std::make_unique<store::RemoteStore>(std::move(remote));
    fencing.lease = std::make_unique<balancer::pair::StoreAddressLease>(
        proxy.pool().main().get_executor(), *fencing.store, lease);
    spdlog::info("balancer pair store lease key={} gateways={} ttl_ms={}", lease.key,
                 flags.store_lease, flags.store_lease_ttl_ms);
  }
  spdlog::info("balancer pair heartbeat={} peer={} priority={} address={}", flags.heartbeat,
               flags.peer, flags.priority, address->describe());
  return std::make_unique<RunningPair>(std::move(options), std::move(address), std::move(fencing),
                                       proxy);
}

}  // namespace isla::app
