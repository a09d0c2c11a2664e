// A replica that lost its data catches up from a snapshot streamed in chunks: three real
// gateways snapshot every 10 entries and stream snapshots in 64 KiB chunks; a follower is
// stopped and its data directory wiped while the others take 8 MiB of writes; restarted
// empty, it must come to hold the leader's revision and every value, and its /metrics must
// show that the snapshot came in many chunks.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <filesystem>

#include "support/raw_http.hpp"
#include "support/store_cluster.hpp"

namespace isla::testing {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;

constexpr int kValues = 32;
constexpr std::size_t kValueBytes = 256 * 1024;  // 8 MiB in all
constexpr std::size_t kChunkBytes = 64 * 1024;

std::string value_of(int key) {
  std::string value(kValueBytes, ' ');
  for (std::size_t i = 0; i < value.size(); ++i) {
    value[i] = static_cast<char>('a' + (static_cast<std::size_t>(key) * 7 + i * 13 + i / 26) % 26);
  }
  return value;
}

// The value of a metric series as /metrics shows it, e.g.
// `isla_store_snapshot_chunks_total{direction="received"}`; -1 when it is not there.
double metric(const StoreCluster& cluster, int node, const std::string& series) {
  auto result = cluster.request(node, "GET", "/metrics");
  if (!result.ok() || result.response->status != 200) return -1;
  const auto& body = result.response->body;
  const auto at = body.find("\n" + series + " ");
  if (at == std::string::npos) return -1;
  return std::stod(body.substr(at + series.size() + 2));
}

std::int64_t revision_of(const StoreCluster& cluster, int node) {
  auto status = cluster.store_status(node);
  return status.is_null() ? -1 : status.at("revision").to_number<std::int64_t>();
}

TEST(StoreSnapshotStream, AWipedFollowerCatchesUpFromAChunkedSnapshot) {
  StoreCluster cluster(3, 0,
                       {"--store-snapshot-entries", "10", "--store-snapshot-chunk-bytes",
                        std::to_string(kChunkBytes)});
  cluster.start_all();
  auto leader = cluster.wait_for_leader(10s);
  ASSERT_TRUE(leader);
  const int victim = (*leader + 1) % cluster.size();
  ASSERT_TRUE(cluster.interrupt(victim, 10s));
  std::filesystem::remove_all(cluster.data_dir(victim));

  // On a slow machine (sanitizers) a snapshot of several MiB can cost the leader its
  // leadership: a write then answers 503 or 504 and is sent again (a PUT of the same value).
  for (int key = 0; key < kValues; ++key) {
    const auto body = json::serialize(json::object{{"value", value_of(key)}});
    int status = 0;
    std::string answer;
    ASSERT_TRUE(eventually(
        [&] {
          if (auto found = cluster.wait_for_leader(10s)) leader = found;
          auto put =
              cluster.request(*leader, "PUT", "/api/kv/big/" + std::to_string(key), body, 10s);
          status = put.ok() ? put.response->status : -1;
          answer = put.ok() ? put.response->body : put.message;
          return status != 503 && status != 504 && status != -1;
        },
        60s));
    ASSERT_EQ(status, 200) << answer;
  }
  const auto revision = revision_of(cluster, *leader);
  ASSERT_GE(revision, kValues);

  cluster.start(victim);
  EXPECT_TRUE(eventually([&] { return revision_of(cluster, victim) == revision; }, 60s))
      << "the wiped follower is at revision " << revision_of(cluster, victim) << ", the leader at "
      << revision;
  for (int key = 0; key < kValues; ++key) {
    auto read =
        cluster.request(victim, "GET", "/api/kv/big/" + std::to_string(key) + "?serializable=true");
    ASSERT_TRUE(read.ok()) << read.message;
    ASSERT_EQ(read.response->status, 200) << "key " << key;
    EXPECT_EQ(json::parse(read.response->body).at("value").as_string(), value_of(key))
        << "key " << key;
  }

  // Most of the 8 MiB was in the snapshot: far more than one chunk's worth came as chunks.
  const double received =
      metric(cluster, victim, R"(isla_store_snapshot_chunks_total{direction="received"})");
  EXPECT_GE(received, 64) << "chunks the wiped follower received";
  EXPECT_GE(metric(cluster, victim,
                   R"(isla_store_snapshots_total{direction="received",outcome="complete"})"),
            1);
  // Whichever replicas led during the transfer streamed it, each from the receiver's offset.
  double sent = 0;
  for (int node = 0; node < cluster.size(); ++node) {
    if (node != victim) {
      sent += std::max(
          0.0, metric(cluster, node, R"(isla_store_snapshot_chunks_total{direction="sent"})"));
    }
  }
  EXPECT_GE(sent, received);
}

}  // namespace
}  // namespace isla::testing
