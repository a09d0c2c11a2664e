#pragma once
// `isla up --balancers N`: the balancer pair in front of the gateways, on loopback. The
// service address clients use, each balancer's admin and heartbeat addresses, and the
// command lines that start them.
#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

#include "core/endpoint.hpp"
#include "net/http_client.hpp"

namespace isla::app {

struct UpBalancer {
  std::string admin;      // HOST:PORT of its admin API (/api/status, /metrics)
  std::string heartbeat;  // HOST:PORT (UDP) of its pair datagrams
  int priority = 100;     // the first one (200) is active when both run
};

struct UpBalancerPlan {
  core::Endpoint service;  // the address the active balancer binds
  std::vector<UpBalancer> balancers;
};

// `count` (0, 1 or 2) balancers for `service`: balancer k gets the service host's last octet
// plus k+1, with port 8081 for its admin API and 8082 for its heartbeats
// (127.0.0.100:8080 -> admins 127.0.0.101:8081 and 127.0.0.102:8081). Throws
// std::invalid_argument for a count out of range or no room after the service host.
UpBalancerPlan plan_balancers(const core::Endpoint& service, int count);

// The default service address for gateways at `first_gateway`: the same /24, host .100,
// port 8080 (127.0.0.1:5235 -> 127.0.0.100:8080), so islands on other subnets do not collide.
core::Endpoint default_service_address(const core::Endpoint& first_gateway);

// The `isla balancer` command line of balancer `index` of the plan. A pair also holds the
// service address's lease in the island store, through `gateways` (the store is reachable
// from every island `isla up` starts, and the pair's fencing then does not rest on
// heartbeats alone).
std::vector<std::string> balancer_argv(const std::string& self, const UpBalancerPlan& plan,
                                       std::size_t index, const std::vector<std::string>& gateways,
                                       const std::filesystem::path& data_dir,
                                       const std::filesystem::path& secret_file);

// The balancers' admin addresses, comma-separated (the gateways' --balancer-admin).
std::string admin_list(const UpBalancerPlan& plan);

// Polls the service address until a request through it is answered (any HTTP status), or
// the timeout passes.
bool wait_until_service_answers(const core::Endpoint& service, std::chrono::milliseconds timeout,
                                const net::HttpClientOptions& client);

}  // namespace isla::app
