// The store on etcd under crashes: three gateways on a real 3-member etcd cluster (--store
// etcd://) under client load through the KV API, while etcd's leader is killed with SIGKILL
// again and again (and restarted). Every write a gateway acknowledged must be there
// afterwards, on every gateway, and the clients' history must be linearizable: what etcd
// guarantees must survive isla's layer (its failover between members, and its line between
// unavailable and unknown outcomes).
#include <gtest/gtest.h>

#include "chaos/store_load.hpp"
#include "support/etcd_cluster.hpp"
#include "support/store_cluster.hpp"

namespace isla::testing {
namespace {

TEST(EtcdStoreChaos, KillingEtcdsLeaderUnderWriteLoadLosesNoAcknowledgedWrite) {
  EtcdCluster etcd(3);
  etcd.start_all();
  ASSERT_FALSE(HasFatalFailure());
  StoreCluster gateways(3, 0, {"--store", etcd.url()});
  gateways.start_all();
  ASSERT_TRUE(gateways.wait_for_leader(std::chrono::seconds(30)));

  StoreLoad load(gateways, 3, 2026);
  constexpr int kRounds = 3;
  for (int round = 0; round < kRounds; ++round) {
    auto leader = etcd.wait_for_leader(std::chrono::seconds(30));
    ASSERT_TRUE(leader) << "round " << round << ": etcd has no leader";
    // Let some writes through before each crash.
    EXPECT_TRUE(load.wait_for_writes(60, std::chrono::seconds(20))) << "round " << round;
    etcd.kill(*leader);
    // Two members of three keep a quorum: writes go on through the gateways.
    EXPECT_TRUE(load.wait_for_writes(30, std::chrono::seconds(30)))
        << "round " << round << ": no writes after killing etcd member " << *leader;
    etcd.start(*leader);
    ASSERT_TRUE(etcd.wait_healthy(std::chrono::seconds(30))) << "round " << round;
  }
  EXPECT_TRUE(load.wait_for_writes(60, std::chrono::seconds(20)));
  load.stop();

  EXPECT_GT(load.expect_no_write_lost(gateways), 200u);
  load.expect_linearizable(std::chrono::seconds(60));
}

}  // namespace
}  // namespace isla::testing
