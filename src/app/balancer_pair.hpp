#pragma once
// `isla balancer`'s active/standby pair: its flags, and the pair member (balancer/pair/)
// started beside the proxy so that only the active balancer owns the service address.
#include <CLI/CLI.hpp>
#include <filesystem>
#include <memory>
#include <string>

#include "balancer/proxy/balancer.hpp"

namespace isla::app {

struct PairFlags {
  std::string heartbeat;  // none: no pair, the balancer serves --listen on its own
  std::string peer;
  std::uint32_t priority = 100;
  long heartbeat_interval_ms = 100;
  long peer_timeout_ms = 200;
  std::string term_file;  // default DATA-DIR/pair.term
  std::string vip;        // with vip_interface: the address held on an interface
  std::string vip_interface;
  std::string vip_device = "isla-vip0";
  int vip_prefix = 32;
  // Gateways of the island store: the active member must also hold the address's lease there.
  std::string store_lease;
  long store_lease_ttl_ms = 3000;

  bool enabled() const { return !heartbeat.empty(); }
  // With --vip the proxy listens from the start and the pair moves the address; without it
  // (loopback) the pair binds and unbinds --listen itself.
  bool moves_an_interface_address() const { return !vip.empty(); }
};

void add_pair_flags(CLI::App& command, PairFlags& flags);

// The running pair member. It hands the address over on SIGINT/SIGTERM, before the proxy
// drains; destroyed without that (the pool stopped), it just goes silent, as in a crash.
class BalancerPair {
 public:
  virtual ~BalancerPair() = default;
};

// Starts the pair member on the balancer's main context and attaches it to the balancer's
// /api/status, /metrics and shutdown. Throws CLI::ValidationError for inconsistent flags.
std::unique_ptr<BalancerPair> start_pair(const PairFlags& flags, balancer::Balancer& proxy,
                                         const std::string& secret,
                                         const std::filesystem::path& data_dir);

}  // namespace isla::app
