#include "support/balancer_pair_processes.hpp"

#include "net/http_client.hpp"

namespace isla::testing {

namespace {

core::Endpoint service_of(const Island& island) {
  return app::default_service_address(island.gateway());
}

}  // namespace

BalancerPairProcesses::BalancerPairProcesses(const Island& island)
    : dir_(island.dir()),
      secret_file_(island.secret_file()),
      plan_(app::plan_balancers(service_of(island), 2)) {}

void BalancerPairProcesses::start(const std::vector<std::string>& gateways) {
  for (std::size_t k = 0; k < plan_.balancers.size(); ++k) {
    processes_.push_back(core::ChildProcess::spawn(
        app::balancer_argv(ISLA_BINARY, plan_, k, gateways, dir_, secret_file_), log(k)));
  }
}

std::string BalancerPairProcesses::log(std::size_t index) const {
  return (dir_ / ("balancer-" + std::to_string(index + 1) + ".log")).string();
}

boost::json::value BalancerPairProcesses::status(std::size_t index) const {
  net::HttpRequest request;
  request.target = "/api/status";
  auto result =
      net::fetch(*core::parse_endpoint(admin(index)), request, std::chrono::milliseconds(2000));
  if (!result.ok() || result.response->status != 200) return nullptr;
  boost::system::error_code error;
  auto value = boost::json::parse(result.response->body, error);
  return error ? boost::json::value(nullptr) : value;
}

std::optional<std::size_t> BalancerPairProcesses::active() const {
  std::optional<std::size_t> found;
  for (std::size_t k = 0; k < plan_.balancers.size(); ++k) {
    const auto value = status(k);
    const auto* pair = value.is_object() ? value.as_object().if_contains("pair") : nullptr;
    const auto* role = pair && pair->is_object() ? pair->as_object().if_contains("role") : nullptr;
    if (role && role->is_string() && role->as_string() == "active") {
      if (found) return std::nullopt;
      found = k;
    }
  }
  return found;
}

}  // namespace isla::testing
