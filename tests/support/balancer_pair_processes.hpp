#pragma once
// Two `isla balancer` processes in front of a test island's gateways, started with the
// command lines `isla up` gives them (app/up_balancers.hpp): service address SUBNET.100:8080,
// admin APIs at SUBNET.101:8081 and SUBNET.102:8081, priorities 200 and 100.
#include <boost/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "app/up_balancers.hpp"
#include "core/child_process.hpp"
#include "support/island.hpp"

namespace isla::testing {

class BalancerPairProcesses {
 public:
  // Plans the pair for `island`'s subnet (call start() to run it).
  explicit BalancerPairProcesses(const Island& island);

  // Starts both balancers in front of `gateways`, with the island's secret.
  void start(const std::vector<std::string>& gateways);

  const app::UpBalancerPlan& plan() const { return plan_; }
  std::string admin(std::size_t index) const { return plan_.balancers.at(index).admin; }
  std::string admins() const { return app::admin_list(plan_); }
  core::ChildProcess& process(std::size_t index) { return processes_.at(index); }
  std::string log(std::size_t index) const;

  // Balancer `index`'s admin /api/status; null when it does not answer.
  boost::json::value status(std::size_t index) const;
  // The balancer whose pair status says "active", if exactly one does.
  std::optional<std::size_t> active() const;

 private:
  std::filesystem::path dir_;
  std::filesystem::path secret_file_;
  app::UpBalancerPlan plan_;
  std::vector<core::ChildProcess> processes_;
};

}  // namespace isla::testing
