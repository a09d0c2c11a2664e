// The island store under crashes: the leader killed with SIGKILL again and again under
// client load, and a replica whose write-ahead log lost its tail. Acknowledged writes must
// survive on every replica, and the clients' history must be linearizable.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "chaos/store_load.hpp"
#include "support/raw_http.hpp"
#include "support/store_cluster.hpp"

namespace isla::testing {
namespace {

TEST(StoreChaos, KillingTheLeaderRepeatedlyLosesNoAcknowledgedWrite) {
  StoreCluster cluster(3);
  cluster.start_all();
  ASSERT_TRUE(cluster.wait_for_leader(std::chrono::seconds(10)));

  StoreLoad load(cluster, 3, 1000);
  constexpr int kRounds = 4;
  for (int round = 0; round < kRounds; ++round) {
    auto leader = cluster.wait_for_leader(std::chrono::seconds(10));
    ASSERT_TRUE(leader) << "round " << round << ": no leader";
    // Let some writes through before each crash.
    EXPECT_TRUE(load.wait_for_writes(60, std::chrono::seconds(10)));
    cluster.kill(*leader);
    auto next = cluster.wait_for_leader(std::chrono::seconds(10));
    ASSERT_TRUE(next) << "round " << round << ": no new leader after killing node " << *leader;
    EXPECT_NE(*next, *leader);
    cluster.start(*leader);
  }
  EXPECT_TRUE(load.wait_for_writes(60, std::chrono::seconds(10)));
  load.stop();

  ASSERT_TRUE(cluster.wait_converged(std::chrono::seconds(15)));
  EXPECT_GT(load.expect_no_write_lost(cluster), 250u);
  load.expect_linearizable(std::chrono::seconds(60));
}

std::filesystem::path last_wal_segment(const std::filesystem::path& data_dir) {
  std::filesystem::path last;
  for (const auto& entry : std::filesystem::directory_iterator(data_dir / "raft" / "wal")) {
    if (entry.path().extension() == ".log" && entry.path() > last) last = entry.path();
  }
  return last;
}

TEST(StoreChaos, ReplicaWithAGarbledLogTailRecoversFromItsPeers) {
  StoreCluster cluster(3);
  cluster.start_all();
  auto leader = cluster.wait_for_leader(std::chrono::seconds(10));
  ASSERT_TRUE(leader);
  const int victim = (*leader + 1) % cluster.size();
  for (int i = 0; i < 200; ++i) {
    auto put = cluster.request(*leader, "PUT", "/api/kv/item/" + std::to_string(i),
                               R"({"value":"v)" + std::to_string(i) + R"("})");
    ASSERT_TRUE(put.ok() && put.response->status == 200) << put.message;
  }
  ASSERT_TRUE(cluster.wait_converged(std::chrono::seconds(10)));
  cluster.kill(victim);

  // The crash tore the last record: cut it short and leave garbage where it ended.
  const auto segment = last_wal_segment(cluster.data_dir(victim));
  ASSERT_FALSE(segment.empty());
  const auto size = std::filesystem::file_size(segment);
  ASSERT_GT(size, 100u);
  std::filesystem::resize_file(segment, size - 7);
  {
    std::ofstream garbage(segment, std::ios::binary | std::ios::app);
    garbage << std::string(5, '\xA5');
  }
  // Writes the victim misses while it is down.
  for (int i = 200; i < 250; ++i) {
    auto put = cluster.request(*leader, "PUT", "/api/kv/item/" + std::to_string(i),
                               R"({"value":"v)" + std::to_string(i) + R"("})");
    ASSERT_TRUE(put.ok() && put.response->status == 200) << put.message;
  }

  cluster.start(victim);
  EXPECT_NE(cluster.log(victim).find("wal tail truncated"), std::string::npos)
      << "the recovery should say what it cut";
  EXPECT_TRUE(eventually([&] { return keys_on(cluster, victim, "item/").size() == 250; },
                         std::chrono::seconds(15)))
      << "the victim has " << keys_on(cluster, victim, "item/").size() << " of 250 keys";
  auto read = body_of(cluster.request(victim, "GET", "/api/kv/item/249?serializable=true"));
  ASSERT_TRUE(read.is_object());
  EXPECT_EQ(read.at("value").as_string(), "v249");
}

}  // namespace
}  // namespace isla::testing
