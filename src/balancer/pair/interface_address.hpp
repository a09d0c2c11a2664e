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
// arping runs in the background, since it paces its packets a second apart. On the claim's
// hot path the same two steps first run in-process (netlink_address.hpp, `in_process`):
// spawning costs 30-100 ms each on a loaded machine, a third of the failover budget.
//
// Who holds the address when the process dies? With the address on the interface (the VRRP
// way, keepalived's), nobody removes it: a process killed with SIGKILL leaves it there, and
// once the standby takes over two hosts answer for it. With `owned_device` set, the VIP goes
// on a TUN device that this process creates and keeps open instead (not persistent): the
// kernel deletes the device, and the address with it, the moment the process dies however
// it dies. The host still answers ARP for it on `interface` (Linux answers for any local
// address, arp_ignore=0), and traffic to it arrives there. The device is made (and brought
// up) at the first release, i.e. when the pair starts, so that a claim costs one command.
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
  std::string interface;   // e.g. eth0: where the neighbours are (ARP)
  // e.g. "isla-vip0": hold the VIP (as /32) on a TUN device owned by this process, which the
  // kernel removes when the process dies. Empty: on `interface`, with `prefix_length`.
  std::string owned_device;
  // The hot path in-process (netlink_address.hpp): the address with one rtnetlink request
  // and one gratuitous ARP at once, the commands below only when that fails (and arping
  // still, in the background, for its repeats). False: the commands alone (tests).
  bool in_process = true;
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
  // Creates the owned TUN device (if not open) and brings it up; false on failure.
  bool open_device();
  // Gratuitous ARP by arping in the background (its repeats, a second apart).
  void announce();
  // Deletes the VIP from `device` (absent is fine).
  void remove(const std::string& device, int prefix_length);
  void close_device();
  std::string device() const;
  std::string prefix() const;

  InterfaceAddressOptions options_;
  std::optional<core::ChildProcess> announcer_;
  int tun_fd_ = -1;
};

}  // namespace isla::balancer::pair
