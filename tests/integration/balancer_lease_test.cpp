// Store-lease fencing of the balancer pair against a real island store (three gateways):
// RemoteStore speaks the gateways' KV API (leases, compare-and-swap, reads, a gateway down);
// two `isla balancer` processes with --store-lease: the active one holds the address's key,
// a killed active's address is taken over only once its store lease lapsed, and an active
// that can no longer reach the store gives the address up.
#include <gtest/gtest.h>

#include <csignal>
#include <filesystem>

#include <unistd.h>

#include "app/commands.hpp"
#include "core/child_process.hpp"
#include "net/http_client.hpp"
#include "security/island_secret.hpp"
#include "security/request_auth.hpp"
#include "store/remote_store.hpp"
#include "support/island.hpp"
#include "support/leased_balancer_pair.hpp"
#include "support/raw_http.hpp"
#include "support/run_command.hpp"
#include "support/scripted_server.hpp"
#include "support/store_cluster.hpp"

namespace isla::store {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using testing::eventually;
using testing::run;

constexpr auto kPatience = 20s;

Deadline in(std::chrono::milliseconds wait) {
  return Clock::now() + wait;
}

std::unique_ptr<RemoteStore> remote_store(const testing::StoreCluster& cluster) {
  RemoteStoreOptions options;
  for (int node = 0; node < cluster.size(); ++node)
    options.gateways.push_back(cluster.address(node));
  options.client.connect_timeout = 300ms;
  options.client.signer = security::make_node_signer(
      security::load_secret_file(cluster.secret_file()), "test/remote-store");
  return std::make_unique<RemoteStore>(options);
}

// The value of `key`, "" when absent, nullopt when the store does not answer.
std::optional<std::string> value_of(RemoteStore& store, const std::string& key) {
  auto read = run(store.range(key, false, Consistency::linearizable, in(3s)));
  if (!read.ok()) return std::nullopt;
  return read.value->kvs.empty() ? std::string() : read.value->kvs.front().value;
}

class RemoteStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    cluster_.use_secret();
    cluster_.start_all();
    ASSERT_TRUE(cluster_.wait_for_leader(kPatience));
    store_ = remote_store(cluster_);
  }
  testing::StoreCluster cluster_{3};
  std::unique_ptr<RemoteStore> store_;
};

TEST_F(RemoteStoreTest, LeasesCompareAndSwapAndReadsWorkAgainstARealStore) {
  auto granted = run(store_->grant_lease(60'000, in(5s)));
  ASSERT_TRUE(granted.ok()) << granted.error.message;
  const auto lease = granted.value->id;

  Txn create;
  create.compares.push_back(
      {"fence/a", Compare::Target::create_revision, Compare::Result::equal, {}, 0});
  create.success.push_back({RequestOp::Kind::put, "fence/a", "first", lease});
  auto first = run(store_->txn(create, in(5s)));
  ASSERT_TRUE(first.ok()) << first.error.message;
  EXPECT_TRUE(first.value->succeeded);
  create.success.front().value = "second";
  auto second = run(store_->txn(create, in(5s)));
  ASSERT_TRUE(second.ok()) << second.error.message;
  EXPECT_FALSE(second.value->succeeded) << "the key exists: the compare must fail";

  auto read = run(store_->range("fence/a", false, Consistency::linearizable, in(5s)));
  ASSERT_TRUE(read.ok()) << read.error.message;
  ASSERT_EQ(read.value->kvs.size(), 1u);
  EXPECT_EQ(read.value->kvs[0].value, "first");
  EXPECT_EQ(read.value->kvs[0].lease, lease);
  auto listed = run(store_->range("fence/", true, Consistency::serializable, in(5s)));
  ASSERT_TRUE(listed.ok()) << listed.error.message;
  EXPECT_EQ(listed.value->kvs.size(), 1u);

  EXPECT_TRUE(run(store_->keep_alive(lease, in(5s))).ok());
  // A transaction on an unknown lease is refused as RaftStore refuses it.
  auto unknown = run(store_->txn(put_txn("fence/b", "x", 987654321), in(5s)));
  ASSERT_TRUE(unknown.ok()) << unknown.error.message;
  EXPECT_FALSE(unknown.value->error.empty());

  auto revoked = run(store_->revoke_lease(lease, in(5s)));
  ASSERT_TRUE(revoked.ok()) << revoked.error.message;
  EXPECT_TRUE(revoked.value->error.empty());
  EXPECT_EQ(value_of(*store_, "fence/a"), std::string()) << "the key goes with its lease";
  auto renewed = run(store_->keep_alive(lease, in(5s)));
  ASSERT_FALSE(renewed.ok());
  EXPECT_EQ(renewed.error.code, StoreErrorCode::rejected);
}

TEST_F(RemoteStoreTest, AShortLeaseLapsesAndItsKeyGoes) {
  auto granted = run(store_->grant_lease(1000, in(5s)));
  ASSERT_TRUE(granted.ok()) << granted.error.message;
  auto put = run(store_->txn(put_txn("fence/short", "x", granted.value->id), in(5s)));
  ASSERT_TRUE(put.ok() && put.value->error.empty());
  EXPECT_TRUE(
      eventually([&] { return value_of(*store_, "fence/short") == std::string(); }, kPatience));
}

TEST_F(RemoteStoreTest, CallsGoOnWhenTheGatewayAskedFirstIsKilled) {
  ASSERT_TRUE(run(store_->txn(put_txn("fence/k", "v"), in(5s))).ok());
  cluster_.kill(0);
  // Gateway 0 is listed first; the others still make a majority.
  EXPECT_TRUE(eventually([&] { return value_of(*store_, "fence/k") == "v"; }, kPatience));
  EXPECT_TRUE(eventually([&] { return run(store_->grant_lease(5000, in(3s))).ok(); }, kPatience));
  EXPECT_NE(store_->preferred(), cluster_.address(0));
}

// Two `isla balancer` processes in a pair fenced by the store.
class BalancerLeaseTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(pair_.start_store(kPatience)); }
  void TearDown() override {
    if (HasFailure()) std::cerr << pair_.logs();
  }
  bool a_holds_the_key() {
    auto value = pair_.lease_value();
    return value && value->ends_with(" " + pair_.heartbeat(0));
  }

  testing::LeasedBalancerPair pair_;
};

TEST_F(BalancerLeaseTest, TheActiveHoldsTheKeyAndAKilledActiveIsReplacedOnlyOnceItsLeaseLapsed) {
  pair_.start_member(0, 200, 3s);
  pair_.start_member(1, 100, 3s);
  ASSERT_TRUE(eventually([&] { return a_holds_the_key(); }, kPatience))
      << pair_.lease_value().value_or("(no answer)");
  ASSERT_TRUE(eventually([&] { return pair_.served(); }, kPatience));

  // A's lease was renewed at most 500 ms ago: it lapses 2.5 s to 3 s after the kill.
  const auto killed = Clock::now();
  pair_.member(0).signal(SIGKILL);
  // The standby leads after the peer timeout (200 ms) but may not serve while A's key lives.
  ASSERT_TRUE(eventually([&] { return pair_.served(); }, kPatience));
  const auto interruption = Clock::now() - killed;
  EXPECT_GE(interruption, 2s) << "the standby took the address before A's 3 s lease lapsed";
  auto value = pair_.lease_value();
  ASSERT_TRUE(value);
  EXPECT_TRUE(value->ends_with(" " + pair_.heartbeat(1))) << *value;
  std::cerr << "takeover after kill -9 with a 3 s store lease: "
            << std::chrono::duration_cast<std::chrono::milliseconds>(interruption).count()
            << " ms\n";
}

TEST_F(BalancerLeaseTest, AnActiveThatCannotReachTheStoreGivesTheAddressUp) {
  pair_.start_member(0, 200, 3s);
  pair_.start_member(1, 100, 3s);
  ASSERT_TRUE(eventually([&] { return pair_.served(); }, kPatience));
  ASSERT_TRUE(eventually([&] { return a_holds_the_key(); }, kPatience));
  // The store goes away; the pair still hears each other, so A stays leader, but without
  // renewals it must assume the store gave its lease to someone else.
  const auto cut = Clock::now();
  for (int node = 0; node < pair_.cluster().size(); ++node) pair_.cluster().kill(node);
  ASSERT_TRUE(eventually([&] { return !pair_.served(); }, kPatience));
  EXPECT_GE(Clock::now() - cut, 2s) << "A held on for about its TTL";
  // And nobody takes it while the store cannot say who may.
  EXPECT_FALSE(eventually([&] { return pair_.served(); }, 3s));
}

// Bad --store-lease flags are refused with the usage exit code, naming the flag.
TEST(BalancerLeaseFlagsTest, BadStoreLeaseFlagsAreRefused) {
  const auto subnet = testing::unique_subnet();
  const std::vector<std::string> pair = {
      "balancer",           "--listen", subnet + ".10:18080", "--backends",
      subnet + ".20:1",     "--admin",  subnet + ".11:18091", "--heartbeat",
      subnet + ".11:17000", "--peer",   subnet + ".12:17000"};
  for (const std::vector<std::string>& extra :
       {std::vector<std::string>{"--store-lease", "not a host:port:x"},
        std::vector<std::string>{"--store-lease", ","},
        std::vector<std::string>{"--store-lease", subnet + ".1:5235", "--store-lease-ttl-ms",
                                 "500"}}) {
    auto args = pair;
    args.insert(args.end(), extra.begin(), extra.end());
    auto result = testing::run_isla(args);
    EXPECT_EQ(result.exit_code, app::kExitUsage) << extra.back() << ": " << result.output;
    EXPECT_NE(result.output.find("store-lease"), std::string::npos) << result.output;
  }
}

}  // namespace
}  // namespace isla::store
