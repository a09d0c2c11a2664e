#pragma once
// `isla up --store etcd`: a local 3-member etcd cluster (Debian's etcd-server) beside the
// island, on loopback hosts .201-.203 of the gateways' /24, its data under the up's data
// dir; the gateways are pointed at it with --store etcd://.
#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

#include "core/child_process.hpp"
#include "store/etcd/etcd_launch.hpp"

namespace isla::app {

store::etcd::LocalEtcdCluster plan_local_etcd(const core::Endpoint& first_gateway,
                                              const std::filesystem::path& data_dir,
                                              const std::string& island);

// Starts every member (logs in data_root/mN.log) and waits until each says it is healthy;
// throws std::runtime_error (with the log's tail) when they are not within `timeout`.
std::vector<core::ChildProcess> start_local_etcd(const store::etcd::LocalEtcdCluster& cluster,
                                                 std::chrono::milliseconds timeout);

}  // namespace isla::app
