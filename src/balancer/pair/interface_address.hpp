#pragma once
// The service address as an IP address on a network interface, the way VRRP moves it: claim
// runs `ip addr replace VIP/PREFIX dev IF` (idempotent, unlike `add`) and then announces the
// move with gratuitous ARP (`arping -U -c COUNT -I IF VIP`, iputils-arping) so that the
// neighbours' ARP caches point at this host at once, not after their entries go stale;
// release runs `ip addr del`, and treats "not there" as done. The constructor does not touch
// the interface: the pair calls release() at start, which drops a VIP that a crashed earlier
// run left on this host's interface.
//
// Commands run through core::ChildProcess (argv, no shell). `ip` is waited for (a few ms);
// arping runs in the background, since it paces its packets a second apart.
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "balancer/pair/service_address.hpp"
#include "core/child_process.hpp"

namespace isla::balancer::pair {

struct InterfaceAddressOptions {
  std::string address;     // the VIP, e.g. 10.77.3.100
  int prefix_length = 32;  // e.g. 24 to share the subnet's route
  std::string interface;   // e.g. eth0
  std::string ip_program = "ip";
  std::string arping_program = "arping";  // empty: no gratuitous ARP
  int arp_count = 2;
  std::chrono::milliseconds command_timeout{2000};
  std::string log_file = "/dev/null";  // where the commands' output goes; empty: inherited
};

class InterfaceAddress final : public ServiceAddress {
 public:
  explicit InterfaceAddress(InterfaceAddressOptions options);
  ~InterfaceAddress() override;

  bool claim(election::Term term) override;
  void release() override;
  std::string describe() const override;

  // The argv of each command, for tests and logs.
  std::vector<std::string> add_command() const;
  std::vector<std::string> delete_command() const;
  std::vector<std::string> announce_command() const;

 private:
  // Exit code of argv, or nullopt when it could not start or did not finish in time.
  std::optional<int> run(const std::vector<std::string>& argv);

  InterfaceAddressOptions options_;
  std::optional<core::ChildProcess> announcer_;
};

}  // namespace isla::balancer::pair
