#pragma once
// The command line of one member of a local etcd cluster on loopback (Debian's etcd-server),
// for `isla up --store etcd` and for the tests: every member of such a cluster comes from
// here, so that both start etcd the same way.
#include <filesystem>
#include <string>
#include <vector>

#include "core/endpoint.hpp"

namespace isla::store::etcd {

struct LocalEtcdCluster {
  std::string binary;  // empty: `etcd` found on PATH (ChildProcess execs a path, not a name)
  std::string token;   // --initial-cluster-token: unique per cluster
  std::vector<core::Endpoint> clients;  // one per member
  std::vector<core::Endpoint> peers;    // same count
  std::filesystem::path data_root;      // member N keeps its data in data_root/mN
  int heartbeat_ms = 100;               // etcd's defaults
  int election_ms = 1000;
};

std::string member_name(std::size_t member);
// argv of member `member` (0-based). A member restarted on its data dir ignores the
// --initial-cluster flags, so the same line restarts it.
std::vector<std::string> member_argv(const LocalEtcdCluster& cluster, std::size_t member);
// "etcd://HOST:PORT,..." of the members' client addresses, as --store takes it.
std::string store_url(const LocalEtcdCluster& cluster);

}  // namespace isla::store::etcd
