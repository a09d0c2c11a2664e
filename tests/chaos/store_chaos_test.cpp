// The island store under crashes: the leader killed with SIGKILL again and again under
// client load, and a replica whose write-ahead log lost its tail. Acknowledged writes must
// survive on every replica, and the clients' history must be linearizable.
#include <gtest/gtest.h>

#include <atomic>
#include <boost/json.hpp>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <random>
#include <thread>

#include "sim/linearizability.hpp"
#include "support/raw_http.hpp"
#include "support/store_cluster.hpp"

namespace isla::testing {
namespace {

namespace json = boost::json;
using sim::KvInput;
using sim::KvOutput;
using sim::Operation;
using sim::OpKind;

std::int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

json::value body_of(const net::ClientResult& result) {
  if (!result.ok()) return nullptr;
  boost::system::error_code error;
  auto value = json::parse(result.response->body, error);
  return error ? json::value() : value;
}

// One client of the store: random gets, puts and compare-and-swaps on a few keys, sent to
// random replicas, recorded as a history for the linearizability checker. Each acknowledged
// put also leaves a key of its own, so that lost writes can be counted directly.
class Client {
 public:
  Client(StoreCluster& cluster, int id, std::uint64_t seed)
      : cluster_(cluster), id_(id), random_(seed) {}

  void run(const std::atomic<bool>& stop, int max_ops) {
    for (int n = 0; n < max_ops && !stop; ++n) step(n);
  }

  std::vector<Operation> history;
  std::vector<std::string> acknowledged;  // keys of acknowledged puts

 private:
  void step(int n) {
    const std::string key = "k" + std::to_string(random_() % 4);
    const int node = static_cast<int>(random_() % cluster_.size());
    const std::string value = "c" + std::to_string(id_) + "-" + std::to_string(n);
    Operation op{id_, now_ns(), 0, {}, {}, false};
    const auto choice = random_() % 10;
    if (choice < 4) {
      op.input = KvInput{OpKind::get, key, {}, std::nullopt};
      auto answer = cluster_.request(node, "GET", "/api/kv/" + key, {}, timeout_);
      op.ret = now_ns();
      if (!answer.ok()) return;  // a read that failed changed nothing: leave it out
      if (answer.response->status == 404) {
        op.output = KvOutput{true, std::nullopt};
      } else if (answer.response->status == 200) {
        op.output = KvOutput{true, std::string(body_of(answer).at("value").as_string())};
      } else {
        return;
      }
    } else if (choice < 8) {
      op.input = KvInput{OpKind::put, key, value, std::nullopt};
      const std::string txn = R"({"success":[{"op":"put","key":")" + key + R"(","value":")" +
                              value + R"("},{"op":"put","key":"acked/)" + value +
                              R"(","value":"1"}]})";
      auto answer = cluster_.request(node, "POST", "/api/kv/txn", txn, timeout_);
      op.ret = now_ns();
      if (answer.ok() && answer.response->status == 200) {
        acknowledged.push_back("acked/" + value);
      } else {
        op.unknown = !definitely_failed(answer);
        if (!op.unknown) return;
      }
    } else {
      std::optional<std::string> expected = last_seen_;
      op.input = KvInput{OpKind::cas, key, value, expected};
      json::object compare =
          expected ? json::object{{"key", key}, {"target", "value"}, {"value", *expected}}
                   : json::object{{"key", key}, {"target", "version"}, {"value", 0}};
      json::object txn{
          {"compare", json::array{compare}},
          {"success", json::array{json::object{{"op", "put"}, {"key", key}, {"value", value}}}}};
      auto answer = cluster_.request(node, "POST", "/api/kv/txn", json::serialize(txn), timeout_);
      op.ret = now_ns();
      if (answer.ok() && answer.response->status == 200) {
        op.output = KvOutput{body_of(answer).at("succeeded").as_bool(), std::nullopt};
      } else {
        op.unknown = !definitely_failed(answer);
        if (!op.unknown) return;
      }
    }
    if (op.input.kind == OpKind::get && op.output.value) last_seen_ = op.output.value;
    history.push_back(std::move(op));
  }

  // A 503 from isla means nothing was proposed; anything else unanswered may have been.
  static bool definitely_failed(const net::ClientResult& answer) {
    if (!answer.ok()) return answer.error == net::ClientErrorKind::connect;
    return answer.response->status == 503 || answer.response->status == 400;
  }

  StoreCluster& cluster_;
  int id_;
  std::mt19937_64 random_;
  std::optional<std::string> last_seen_;
  std::chrono::milliseconds timeout_{3000};
};

std::vector<std::string> keys_on(StoreCluster& cluster, int node, const std::string& prefix) {
  std::vector<std::string> keys;
  auto listed = body_of(cluster.request(node, "GET", "/api/kv?serializable=true&prefix=" + prefix));
  if (!listed.is_object()) return keys;
  for (const auto& kv : listed.at("kvs").as_array()) keys.emplace_back(kv.at("key").as_string());
  return keys;
}

TEST(StoreChaos, KillingTheLeaderRepeatedlyLosesNoAcknowledgedWrite) {
  StoreCluster cluster(3);
  cluster.start_all();
  ASSERT_TRUE(cluster.wait_for_leader(std::chrono::seconds(10)));

  std::atomic<bool> stop{false};
  std::vector<Client> clients;
  for (int id = 0; id < 3; ++id) clients.emplace_back(cluster, id, 1000 + id);
  std::vector<std::thread> threads;
  for (auto& client : clients) {
    threads.emplace_back([&client, &stop] { client.run(stop, 20'000); });
  }
  auto acknowledged = [&] {
    std::size_t total = 0;
    for (const auto& client : clients) total += client.acknowledged.size();
    return total;
  };

  constexpr int kRounds = 4;
  for (int round = 0; round < kRounds; ++round) {
    auto leader = cluster.wait_for_leader(std::chrono::seconds(10));
    ASSERT_TRUE(leader) << "round " << round << ": no leader";
    // Let some writes through before each crash (reading the count races benignly).
    const auto before = acknowledged();
    EXPECT_TRUE(eventually([&] { return acknowledged() > before + 60; }, std::chrono::seconds(10)));
    cluster.kill(*leader);
    auto next = cluster.wait_for_leader(std::chrono::seconds(10));
    ASSERT_TRUE(next) << "round " << round << ": no new leader after killing node " << *leader;
    EXPECT_NE(*next, *leader);
    cluster.start(*leader);
  }
  const auto before = acknowledged();
  EXPECT_TRUE(eventually([&] { return acknowledged() > before + 60; }, std::chrono::seconds(10)));
  stop = true;
  for (auto& thread : threads) thread.join();

  ASSERT_TRUE(cluster.wait_converged(std::chrono::seconds(15)));
  std::vector<std::string> expected;
  std::vector<Operation> history;
  for (auto& client : clients) {
    expected.insert(expected.end(), client.acknowledged.begin(), client.acknowledged.end());
    history.insert(history.end(), client.history.begin(), client.history.end());
  }
  std::sort(expected.begin(), expected.end());
  ASSERT_GT(expected.size(), 250u);
  for (int node = 0; node < cluster.size(); ++node) {
    auto present = keys_on(cluster, node, "acked/");
    std::sort(present.begin(), present.end());
    std::vector<std::string> missing;
    std::set_difference(expected.begin(), expected.end(), present.begin(), present.end(),
                        std::back_inserter(missing));
    EXPECT_TRUE(missing.empty()) << "node " << node << " lost " << missing.size()
                                 << " acknowledged writes, e.g. " << missing.front();
  }
  const auto unknown =
      std::count_if(history.begin(), history.end(), [](const Operation& op) { return op.unknown; });
  std::cout << "history: " << history.size() << " operations (" << unknown
            << " with unknown outcome), " << expected.size() << " acknowledged puts\n";
  const auto verdict = sim::check_kv_history(history, std::chrono::seconds(60));
  EXPECT_EQ(verdict.verdict, sim::CheckResult::Verdict::ok)
      << history.size() << " operations: " << verdict.explanation;
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
