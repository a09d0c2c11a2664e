#pragma once
// The two steps of a takeover on the hot path, in-process: adding (or deleting) an IPv4
// address with one rtnetlink request (what `ip addr replace|del` sends), and one gratuitous
// ARP request on an interface (what `arping -U` sends). Spawning `ip` and `arping` costs
// 30-100 ms each on a loaded machine, most of a 300 ms failover budget; these take well
// under a millisecond. InterfaceAddress uses them first and falls back to the commands.
// Both need CAP_NET_ADMIN (CAP_NET_RAW for ARP) in the network namespace.
#include <string>

namespace isla::balancer::pair {

// Adds (replacing) or deletes ADDRESS/PREFIX on `device`. Deleting an absent address
// succeeds. Returns an empty string on success, else what went wrong.
std::string netlink_set_address(bool add, const std::string& device, const std::string& address,
                                int prefix_length);

// Broadcasts one ARP request from `address` for `address` with the interface's MAC address,
// so that neighbours holding an entry for it move it to this host at once.
std::string send_gratuitous_arp(const std::string& interface, const std::string& address);

}  // namespace isla::balancer::pair
