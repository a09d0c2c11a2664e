// The balancer pair fenced by the store (--store-lease), with only the active member cut from
// the store's gateways (iptables on loopback; the members' store calls leave from their own
// heartbeat hosts): the pair still hears each other, so without stepping aside the active
// would keep winning the election while unable to hold the lease, and the service would stay
// down until its link came back. Needs root (skipped with the reason otherwise).
#include <gtest/gtest.h>

#include <memory>
#include <vector>

#include "chaos/link_cut.hpp"
#include "support/leased_balancer_pair.hpp"
#include "support/raw_http.hpp"

namespace isla::testing {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

constexpr auto kPatience = 20s;
constexpr auto kLeaseTtl = 3s;

class BalancerStoreCutChaos : public ::testing::Test {
 protected:
  void SetUp() override {
    if (auto why = LinkCut::unavailable()) GTEST_SKIP() << *why;
    ASSERT_TRUE(pair_.start_store(kPatience));
  }
  void TearDown() override {
    cuts_.clear();
    if (HasFailure()) std::cerr << pair_.logs();
  }
  // Cuts `member` from every gateway of the store (both directions, the gateways' port).
  void cut_from_store(int member) {
    for (int node = 0; node < pair_.cluster().size(); ++node) {
      const auto& gateway = pair_.cluster().address(node);
      cuts_.push_back(std::make_unique<LinkCut>(pair_.host(member), gateway.host, gateway.port));
    }
  }
  bool only_active_is(int member) {
    return pair_.role(member) == "active" && pair_.role(1 - member) != "active";
  }

  LeasedBalancerPair pair_;
  std::vector<std::unique_ptr<LinkCut>> cuts_;
};

TEST_F(BalancerStoreCutChaos, AnActiveCutFromTheStoreAloneHandsTheServiceToTheStandby) {
  pair_.start_member(0, 200, kLeaseTtl);
  pair_.start_member(1, 100, kLeaseTtl);
  ASSERT_TRUE(eventually([&] { return only_active_is(0) && pair_.served(); }, kPatience));

  const auto cut = Clock::now();
  cut_from_store(0);
  ASSERT_TRUE(eventually([&] { return only_active_is(1) && pair_.served(); }, kPatience))
      << "a: " << pair_.role(0).value_or("?") << ", b: " << pair_.role(1).value_or("?");
  const auto moved = Clock::now() - cut;
  EXPECT_GE(moved, 2s) << "B served before A's lease could have lapsed";
  auto value = pair_.lease_value();
  ASSERT_TRUE(value);
  EXPECT_TRUE(value->ends_with(" " + pair_.heartbeat(1))) << *value;
  std::cerr << "service moved to the standby "
            << std::chrono::duration_cast<std::chrono::milliseconds>(moved).count()
            << " ms after the active was cut from the store (lease TTL 3 s)\n";

  // A stays aside while it cannot reach the store; exactly one member is active throughout.
  const auto watch_until = Clock::now() + 3s;
  while (Clock::now() < watch_until) {
    ASSERT_TRUE(only_active_is(1)) << "a: " << pair_.role(0).value_or("?");
  }

  // Its link back, A stands again at its own priority and takes the service back.
  cuts_.clear();
  ASSERT_TRUE(eventually([&] { return only_active_is(0) && pair_.served(); }, kPatience));
  value = pair_.lease_value();
  ASSERT_TRUE(value);
  EXPECT_TRUE(value->ends_with(" " + pair_.heartbeat(0))) << *value;
}

}  // namespace
}  // namespace isla::testing
