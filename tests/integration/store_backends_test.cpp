// The store's KV API behaves the same on both back ends: the embedded Raft store (three
// gateways voting) and etcd (three gateways on a real 3-member etcd cluster, --store
// etcd://): revisions, versions, transactions, prefix ranges, leases and watches.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <map>
#include <memory>

#include "support/etcd_cluster.hpp"
#include "support/raw_http.hpp"
#include "support/store_cluster.hpp"

namespace isla::testing {
namespace {

namespace json = boost::json;

json::value body_of(const net::ClientResult& result) {
  if (!result.ok()) return nullptr;
  boost::system::error_code error;
  auto value = json::parse(result.response->body, error);
  return error ? json::value() : value;
}

// Three gateways on one back end, started once per back end for the whole suite.
struct Backend {
  std::unique_ptr<EtcdCluster> etcd;
  std::unique_ptr<StoreCluster> gateways;
};

class StoreBackendTest : public ::testing::TestWithParam<std::string> {
 protected:
  static void TearDownTestSuite() { backends().clear(); }

  void SetUp() override {
    auto& backend = backends()[GetParam()];
    if (!backend.gateways) {
      std::vector<std::string> flags;
      if (GetParam() == "etcd") {
        backend.etcd = std::make_unique<EtcdCluster>(3);
        backend.etcd->start_all();
        if (HasFatalFailure()) backend.etcd->print_logs_at_exit();
        ASSERT_FALSE(HasFatalFailure());
        flags = {"--store", backend.etcd->url()};
      }
      backend.gateways = std::make_unique<StoreCluster>(3, 0, flags);
      backend.gateways->start_all();
    }
    gateways_ = backend.gateways.get();
    ASSERT_TRUE(gateways_->wait_for_leader(std::chrono::seconds(30)))
        << "the gateways agreed on no leader";
  }

  static std::map<std::string, Backend>& backends() {
    static std::map<std::string, Backend> all;
    return all;
  }

  // A key of this test alone: the suite shares its store between tests.
  std::string key(const std::string& name) const {
    return std::string(::testing::UnitTest::GetInstance()->current_test_info()->name())
               .substr(0, 20) +
           "-" + GetParam() + "/" + name;
  }

  net::ClientResult request(int node, const std::string& method, const std::string& target,
                            const std::string& body = {}) {
    return gateways_->request(node, method, target, body, std::chrono::seconds(10));
  }

  StoreCluster* gateways_ = nullptr;
};

TEST_P(StoreBackendTest, PutGetAndDeleteKeepEtcdsRevisionModel) {
  const auto name = key("k");
  auto first = body_of(request(0, "PUT", "/api/kv/" + name, R"({"value":"one"})"));
  ASSERT_TRUE(first.is_object()) << "put failed";
  auto second = body_of(request(1, "PUT", "/api/kv/" + name, R"({"value":"two"})"));
  ASSERT_TRUE(second.is_object());
  const auto created = first.at("revision").as_int64();
  const auto modified = second.at("revision").as_int64();
  EXPECT_GT(modified, created);
  EXPECT_EQ(second.at("prev").at("value").as_string(), "one");
  for (int node = 0; node < 3; ++node) {
    auto kv = body_of(request(node, "GET", "/api/kv/" + name));
    ASSERT_TRUE(kv.is_object()) << "gateway " << node;
    EXPECT_EQ(kv.at("value").as_string(), "two");
    EXPECT_EQ(kv.at("create_revision").as_int64(), created);
    EXPECT_EQ(kv.at("mod_revision").as_int64(), modified);
    EXPECT_EQ(kv.at("version").as_int64(), 2);
    EXPECT_GE(kv.at("revision").as_int64(), modified);
  }
  auto deleted = body_of(request(2, "DELETE", "/api/kv/" + name));
  ASSERT_TRUE(deleted.is_object());
  EXPECT_EQ(deleted.at("deleted").as_int64(), 1);
  auto gone = request(0, "GET", "/api/kv/" + name);
  ASSERT_TRUE(gone.ok());
  EXPECT_EQ(gone.response->status, 404);
  EXPECT_GT(body_of(gone).at("revision").as_int64(), modified);
}

TEST_P(StoreBackendTest, CompareAndSwapOnModRevisionSucceedsOnce) {
  const auto name = key("lock");
  auto put = body_of(request(0, "PUT", "/api/kv/" + name, R"({"value":"free"})"));
  ASSERT_TRUE(put.is_object());
  const auto revision = put.at("revision").as_int64();
  const std::string txn = R"({"compare":[{"key":")" + name +
                          R"(","target":"mod_revision","result":"equal","value":)" +
                          std::to_string(revision) + R"(}],"success":[{"op":"put","key":")" + name +
                          R"(","value":"mine"}],"failure":[{"op":"get","key":")" + name + R"("}]})";
  auto first = body_of(request(1, "POST", "/api/kv/txn", txn));
  ASSERT_TRUE(first.is_object());
  EXPECT_TRUE(first.at("succeeded").as_bool()) << json::serialize(first);
  auto second = body_of(request(2, "POST", "/api/kv/txn", txn));
  ASSERT_TRUE(second.is_object());
  EXPECT_FALSE(second.at("succeeded").as_bool());
  EXPECT_EQ(second.at("results").at(0).at("kvs").at(0).at("value").as_string(), "mine");
}

TEST_P(StoreBackendTest, PrefixRangeListsOnlyThePrefixInKeyOrder) {
  for (const auto* leaf : {"b", "a", "c"}) {
    ASSERT_EQ(
        request(0, "PUT", "/api/kv/" + key("fruit/") + leaf, R"({"value":"x"})").response->status,
        200);
  }
  ASSERT_EQ(request(0, "PUT", "/api/kv/" + key("fruits"), R"({"value":"x"})").response->status,
            200);
  auto listed = body_of(request(1, "GET", "/api/kv?prefix=" + key("fruit/")));
  ASSERT_TRUE(listed.is_object());
  const auto& kvs = listed.at("kvs").as_array();
  ASSERT_EQ(kvs.size(), 3u) << json::serialize(listed);
  EXPECT_EQ(kvs[0].at("key").as_string(), key("fruit/") + "a");
  EXPECT_EQ(kvs[2].at("key").as_string(), key("fruit/") + "c");
}

TEST_P(StoreBackendTest, KeysOfAnExpiredLeaseGoAndItsKeepAliveIsRefused) {
  auto lease = body_of(request(0, "POST", "/api/kv/lease", R"({"ttl_ms":2000})"));
  ASSERT_TRUE(lease.is_object());
  const auto id = lease.at("id").as_int64();
  EXPECT_GE(lease.at("ttl_ms").as_int64(), 2000);
  const auto name = key("ephemeral");
  auto put =
      request(1, "PUT", "/api/kv/" + name, R"({"value":"x","lease":)" + std::to_string(id) + "}");
  ASSERT_EQ(put.response->status, 200) << put.response->body;
  EXPECT_EQ(body_of(request(2, "GET", "/api/kv/" + name)).at("lease").as_int64(), id);
  // Nobody keeps it alive: it expires, and its key with it.
  EXPECT_TRUE(eventually(
      [&] {
        auto read = request(0, "GET", "/api/kv/" + name);
        return read.ok() && read.response->status == 404;
      },
      std::chrono::seconds(20)));
  auto alive = request(0, "POST", "/api/kv/lease/" + std::to_string(id) + "/keepalive", "{}");
  ASSERT_TRUE(alive.ok());
  EXPECT_EQ(alive.response->status, 404) << alive.response->body;
  // A put naming the gone lease is refused and changes nothing.
  auto refused =
      request(1, "PUT", "/api/kv/" + name, R"({"value":"x","lease":)" + std::to_string(id) + "}");
  ASSERT_TRUE(refused.ok());
  EXPECT_EQ(refused.response->status, 400) << refused.response->body;
}

TEST_P(StoreBackendTest, WatchStreamsEventsFromTheRevisionAskedFor) {
  auto start = body_of(request(0, "PUT", "/api/kv/" + key("w/a"), R"({"value":"one"})"));
  ASSERT_TRUE(start.is_object());
  const auto from = start.at("revision").as_int64();
  ASSERT_EQ(request(0, "DELETE", "/api/kv/" + key("w/a")).response->status, 200);
  ASSERT_EQ(request(0, "PUT", "/api/kv/" + key("other"), R"({"value":"x"})").response->status, 200);
  // The stream does not end by itself: read what arrives within the timeout.
  const auto reply =
      raw_exchange(gateways_->address(1),
                   "GET /api/kv/watch?prefix=" + key("w/") + "&from=" + std::to_string(from) +
                       " HTTP/1.1\r\nHost: test\r\n\r\n",
                   std::chrono::milliseconds(3000));
  EXPECT_EQ(status_of(reply), 200) << reply;
  EXPECT_NE(reply.find("id: " + std::to_string(from) + "\nevent: put"), std::string::npos) << reply;
  EXPECT_NE(reply.find("event: delete"), std::string::npos) << reply;
  EXPECT_EQ(reply.find(key("other")), std::string::npos) << reply;
}

// On etcd no gateway leads the store, so the gateways elect the one that dispatches tasks
// and runs the autoscaler through an etcd lease: exactly one leads, a killed leader's lease
// expires and another takes over, and so does one when the leader stops gracefully.
TEST(StoreOnEtcd, OneGatewayLeadsAndAnotherTakesOverWhenItDiesOrStops) {
  EtcdCluster etcd(3);
  etcd.start_all();
  ASSERT_FALSE(::testing::Test::HasFatalFailure());
  StoreCluster gateways(3, 0, {"--store", etcd.url()});
  gateways.start_all();
  const auto leaders = [&] {
    int count = 0;
    for (int node = 0; node < gateways.size(); ++node) {
      if (!gateways.running(node)) continue;
      auto status = gateways.store_status(node);
      if (!status.is_null() && status.at("role") == "leader") ++count;
    }
    return count;
  };
  auto first = gateways.wait_for_leader(std::chrono::seconds(30));
  ASSERT_TRUE(first);
  EXPECT_EQ(gateways.store_status(*first).at("backend"), "etcd");
  EXPECT_EQ(leaders(), 1);
  gateways.kill(*first);
  // Its lease (3 s) expires; the others look every second.
  auto second = gateways.wait_for_leader(std::chrono::seconds(20));
  ASSERT_TRUE(second) << "no gateway took over after the leader's kill";
  EXPECT_NE(*second, *first);
  EXPECT_EQ(leaders(), 1);
  ASSERT_TRUE(gateways.interrupt(*second, std::chrono::seconds(15)));
  auto third = gateways.wait_for_leader(std::chrono::seconds(20));
  ASSERT_TRUE(third) << "no gateway took over after the leader stopped";
  EXPECT_NE(*third, *second);
  EXPECT_NE(*third, *first);
}

INSTANTIATE_TEST_SUITE_P(Backends, StoreBackendTest, ::testing::Values("raft", "etcd"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace isla::testing
