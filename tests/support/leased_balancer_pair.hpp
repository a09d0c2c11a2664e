#pragma once
// Two `isla balancer` processes in a pair fenced by the island store (--store-lease), in front
// of one stub backend, with the store's three gateways started by the bed. Each member's
// heartbeat, admin and store-call addresses are its own loopback host (SUBNET.11 and .12), so a
// test can cut one member from the store (tests/chaos/link_cut.hpp) and not the other.
#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include "core/child_process.hpp"
#include "core/endpoint.hpp"
#include "store/remote_store.hpp"
#include "support/loopback_server.hpp"
#include "support/store_cluster.hpp"

namespace isla::testing {

class LeasedBalancerPair {
 public:
  // Starts the store (and waits for its leader, up to `patience`); false if it never led.
  bool start_store(std::chrono::milliseconds patience);
  ~LeasedBalancerPair();

  // Member 0 is "a", 1 is "b"; the higher priority is active when both run.
  void start_member(int member, int priority, std::chrono::milliseconds lease_ttl);
  core::ChildProcess& member(int index) { return *members_[index]; }

  std::string host(int member) const { return subnet_ + "." + std::to_string(11 + member); }
  std::string heartbeat(int member) const { return host(member) + ":17000"; }
  core::Endpoint admin(int member) const { return {host(member), 18091}; }
  const core::Endpoint& service() const { return service_; }
  std::string key() const { return "_isla/balancer/vip/" + service_.str(); }

  // Whether something accepts connections at the service address.
  bool served() const;
  // The value of the address's key, "" when absent, nullopt when the store does not answer.
  std::optional<std::string> lease_value();
  // The member's pair status (/api/status "pair" on its admin address); null when it does not
  // answer.
  std::optional<std::string> role(int member) const;

  StoreCluster& cluster() { return cluster_; }
  store::RemoteStore& store() { return *store_; }
  // Both members' logs, for a failed test.
  std::string logs() const;

 private:
  StoreCluster cluster_{3};
  std::unique_ptr<store::RemoteStore> store_;
  LoopbackServer backend_{1, [](net::HttpRequest&) -> asio::awaitable<net::HttpResponse> {
                            co_return net::json_response(200, "{}");
                          }};
  std::string subnet_;
  core::Endpoint service_;
  std::filesystem::path dir_;
  std::optional<core::ChildProcess> members_[2];
};

}  // namespace isla::testing
