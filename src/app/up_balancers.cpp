#include "app/up_balancers.hpp"

#include <stdexcept>
#include <thread>

namespace isla::app {

namespace {

constexpr std::uint16_t kAdminPort = 8081;
constexpr std::uint16_t kHeartbeatPort = 8082;

std::string with_last_octet(const std::string& host, int add, const char* what) {
  const auto dot = host.rfind('.');
  if (dot == std::string::npos) throw std::invalid_argument(std::string(what) + ": not IPv4");
  const int last = std::stoi(host.substr(dot + 1)) + add;
  if (last < 1 || last > 254) {
    throw std::invalid_argument(std::string(what) + ": no room for the balancers after " + host);
  }
  return host.substr(0, dot + 1) + std::to_string(last);
}

}  // namespace

UpBalancerPlan plan_balancers(const core::Endpoint& service, int count) {
  if (count < 0 || count > 2) throw std::invalid_argument("--balancers must be 0, 1 or 2");
  UpBalancerPlan plan{service, {}};
  for (int k = 0; k < count; ++k) {
    const auto host = with_last_octet(service.host, k + 1, "--service");
    plan.balancers.push_back({core::Endpoint{host, kAdminPort}.str(),
                              core::Endpoint{host, kHeartbeatPort}.str(), k == 0 ? 200 : 100});
  }
  return plan;
}

core::Endpoint default_service_address(const core::Endpoint& first_gateway) {
  const auto dot = first_gateway.host.rfind('.');
  return {first_gateway.host.substr(0, dot + 1) + "100", 8080};
}

std::vector<std::string> balancer_argv(const std::string& self, const UpBalancerPlan& plan,
                                       std::size_t index, const std::vector<std::string>& gateways,
                                       const std::filesystem::path& data_dir,
                                       const std::filesystem::path& secret_file) {
  std::string backends;
  for (const auto& gateway : gateways) backends += (backends.empty() ? "" : ",") + gateway;
  const auto& balancer = plan.balancers.at(index);
  std::vector<std::string> argv{self,
                                "balancer",
                                "--listen",
                                plan.service.str(),
                                "--backends",
                                backends,
                                "--admin",
                                balancer.admin,
                                "--secret-file",
                                secret_file.string(),
                                "--data-dir",
                                (data_dir / ("balancer-" + std::to_string(index + 1))).string()};
  if (plan.balancers.size() == 2) {
    const auto& peer = plan.balancers.at(1 - index);
    argv.insert(argv.end(),
                {"--heartbeat", balancer.heartbeat, "--peer", peer.heartbeat, "--priority",
                 std::to_string(balancer.priority), "--store-lease", backends});
  }
  return argv;
}

std::string admin_list(const UpBalancerPlan& plan) {
  std::string out;
  for (const auto& balancer : plan.balancers) out += (out.empty() ? "" : ",") + balancer.admin;
  return out;
}

bool wait_until_service_answers(const core::Endpoint& service, std::chrono::milliseconds timeout,
                                const net::HttpClientOptions& client) {
  const auto give_up = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < give_up) {
    net::HttpRequest request;
    request.target = "/api/status";
    if (net::fetch(service, request, std::chrono::milliseconds(500), client).ok()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));  // a poll interval, not a sync
  }
  return false;
}

}  // namespace isla::app
