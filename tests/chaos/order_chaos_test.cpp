// Orders under a crash, on real processes: several clients add to one order at once, each
// through the gateway of its choice, retrying an add on the next gateway (with the same
// idempotency key) until it is acknowledged, while the gateway that leads the island store
// is killed with SIGKILL mid-way. The order must end with every acknowledged add exactly
// once, and no key twice: a retry after a lost answer is applied once.
#include <gtest/gtest.h>

#include <atomic>
#include <csignal>
#include <iostream>
#include <mutex>
#include <thread>

#include "support/failover_client.hpp"
#include "support/order_island.hpp"
#include "support/raw_http.hpp"

namespace isla::testing {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;

constexpr int kGateways = 3;
constexpr int kClients = 4;
constexpr int kAddsPerClient = 40;

TEST(OrderChaos, ConcurrentAddsAcrossGatewaysSurviveTheStoreLeadersDeath) {
  Island island;
  start_order_island(island, kGateways, {"giraffe", "lion", "owl"});
  const auto token = token_for(island, "chaos", security::Role::write);
  FailoverOptions patient;
  patient.give_up_after = 60s;
  FailoverClient setup(gateway_endpoints(island, kGateways), token, patient);
  auto created = setup.send("POST", "/api/orders", R"({"idempotency_key":"chaos-order"})");
  ASSERT_EQ(created.status(), 201) << created.body();
  const std::string id(json::parse(created.body()).at("id").as_string());

  std::atomic<int> acknowledged{0};
  std::mutex mutex;
  std::map<std::string, std::int64_t> acked;  // key -> the item number it was answered with
  std::vector<std::string> unacked;
  std::map<int, int> retried_elsewhere;  // adds answered by another gateway than the first tried
  int duplicates = 0;                    // retries answered "applied before" (a lost answer)
  std::chrono::steady_clock::duration slowest{};
  std::vector<std::thread> clients;
  for (int c = 0; c < kClients; ++c) {
    clients.emplace_back([&, c] {
      FailoverClient client(gateway_endpoints(island, kGateways), token, patient);
      client.use(c % kGateways);
      for (int i = 0; i < kAddsPerClient; ++i) {
        const std::string key = "c" + std::to_string(c) + "-" + std::to_string(i);
        const std::string body = json::serialize(
            json::object{{"figure", "owl"}, {"quantity", 1 + i % 7}, {"idempotency_key", key}});
        const auto start = std::chrono::steady_clock::now();
        auto answer = client.send("POST", "/api/orders/" + id + "/items", body);
        std::lock_guard lock(mutex);
        slowest = std::max(slowest, std::chrono::steady_clock::now() - start);
        if (answer.status() == 200 || answer.status() == 201) {
          const auto reply = json::parse(answer.body());
          acked[key] = reply.at("item").as_int64();
          if (reply.as_object().contains("duplicate")) ++duplicates;
          if (answer.attempts > 1) ++retried_elsewhere[answer.attempts];
          ++acknowledged;
        } else {
          unacked.push_back(key + " -> " +
                            (answer.ok() ? std::to_string(answer.status()) + " " + answer.body()
                                         : answer.result.message));
        }
        // Spread the clients over the gateways, as a balancer would.
        client.use((client.current() + 1) % kGateways);
      }
    });
  }
  // A third of the way through, the store's leader dies.
  ASSERT_TRUE(eventually([&] { return acknowledged >= kClients * kAddsPerClient / 3; }, 120s));
  const int leader = store_leader(island, kGateways);
  ASSERT_GE(leader, 0);
  island.gateway_process(leader).signal(SIGKILL);
  for (auto& thread : clients) thread.join();

  EXPECT_TRUE(unacked.empty()) << unacked.size()
                               << " adds never acknowledged, first: " << unacked.front();
  setup.use((leader + 1) % kGateways);
  auto read = setup.send("GET", "/api/orders/" + id);
  ASSERT_EQ(read.status(), 200) << read.result.message;
  const auto order = json::parse(read.body());
  const auto keys = items_by_key(order);
  for (const auto& [key, count] : keys) EXPECT_EQ(count, 1) << key << " applied twice";
  for (const auto& [key, item] : acked) {
    EXPECT_EQ(keys.count(key), 1u)
        << key << " was acknowledged (item " << item << ") but is not in the order";
  }
  // Only keys the clients sent: an unacknowledged add may have landed, nothing else.
  EXPECT_LE(keys.size(), static_cast<std::size_t>(kClients * kAddsPerClient));
  // Each acknowledged add's item number is the one in the order.
  for (const auto& item : order.at("items").as_array()) {
    const std::string key(item.at("idempotency_key").as_string());
    if (acked.contains(key)) {
      EXPECT_EQ(item.at("n").as_int64(), acked[key]) << key;
    }
  }
  int retried = 0;
  for (const auto& [attempts, count] : retried_elsewhere) retried += count;
  std::cout << "[ measured ] " << acked.size() << " adds acknowledged, " << retried
            << " of them after trying more than one gateway, " << duplicates
            << " answered as applied before; slowest add "
            << std::chrono::duration_cast<std::chrono::milliseconds>(slowest).count()
            << " ms; order holds " << keys.size() << " items\n";
}

}  // namespace
}  // namespace isla::testing
