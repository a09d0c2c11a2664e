#include "store/etcd/etcd_launch.hpp"

#include <unistd.h>

#include <cstdlib>
#include <string_view>

namespace isla::store::etcd {

namespace {

// The first executable `etcd` on PATH; "/usr/bin/etcd" (Debian's) when there is none, so
// that the failure to start names a path.
std::string etcd_on_path() {
  const char* path = std::getenv("PATH");
  std::string_view dirs = path != nullptr ? path : "/usr/bin:/bin";
  while (!dirs.empty()) {
    const auto colon = dirs.find(':');
    const auto dir = dirs.substr(0, colon);
    if (!dir.empty()) {
      const std::string candidate = std::string(dir) + "/etcd";
      if (::access(candidate.c_str(), X_OK) == 0) return candidate;
    }
    if (colon == std::string_view::npos) break;
    dirs.remove_prefix(colon + 1);
  }
  return "/usr/bin/etcd";
}

}  // namespace

std::string member_name(std::size_t member) {
  return "m" + std::to_string(member);
}

std::vector<std::string> member_argv(const LocalEtcdCluster& cluster, std::size_t member) {
  std::string initial;
  for (std::size_t other = 0; other < cluster.peers.size(); ++other) {
    initial +=
        (initial.empty() ? "" : ",") + member_name(other) + "=http://" + cluster.peers[other].str();
  }
  const std::string client = "http://" + cluster.clients.at(member).str();
  const std::string peer = "http://" + cluster.peers.at(member).str();
  return {cluster.binary.empty() ? etcd_on_path() : cluster.binary,
          "--name=" + member_name(member),
          "--data-dir=" + (cluster.data_root / member_name(member)).string(),
          "--listen-client-urls=" + client,
          "--advertise-client-urls=" + client,
          "--listen-peer-urls=" + peer,
          "--initial-advertise-peer-urls=" + peer,
          "--initial-cluster=" + initial,
          "--initial-cluster-state=new",
          "--initial-cluster-token=" + cluster.token,
          "--heartbeat-interval=" + std::to_string(cluster.heartbeat_ms),
          "--election-timeout=" + std::to_string(cluster.election_ms),
          "--logger=zap",
          "--log-outputs=stderr"};
}

std::string store_url(const LocalEtcdCluster& cluster) {
  std::string url = "etcd://";
  for (std::size_t member = 0; member < cluster.clients.size(); ++member) {
    url += (member == 0 ? "" : ",") + cluster.clients[member].str();
  }
  return url;
}

}  // namespace isla::store::etcd
