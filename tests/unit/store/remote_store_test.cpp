// RemoteStore against in-process fake gateways: what it sends for each Store call (routes,
// percent-encoded keys, the transaction's JSON, the signature), how it reads the answers
// (and refuses malformed ones without crashing), and which gateway it asks when one is
// down, has no leader, or hangs: reads move on, a transaction that may have arrived does not.
#include "store/remote_store.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <mutex>

#include "store/kv_json.hpp"
#include "support/scripted_server.hpp"

namespace isla::store {
namespace {

namespace json = boost::json;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

using FakeGateway = testing::ScriptedServer;
using testing::closed_port;
using testing::run;

class SignsAs final : public net::RequestSigner {
 public:
  std::string authorization(const net::HttpRequest& request,
                            std::string_view destination) const override {
    return "Test " + request.method + " " + std::string(destination);
  }
};

RemoteStore store_for(std::vector<core::Endpoint> gateways,
                      std::shared_ptr<const net::RequestSigner> signer = nullptr) {
  RemoteStoreOptions options;
  options.gateways = std::move(gateways);
  options.client.connect_timeout = 500ms;
  options.client.signer = std::move(signer);
  return RemoteStore(options);
}

Deadline in(std::chrono::milliseconds wait) {
  return Clock::now() + wait;
}

json::object kv_json(const std::string& key, const std::string& value, std::int64_t lease) {
  return to_json(KeyValue{key, value, 3, 5, 2, lease});
}

TEST(RemoteStoreCodec, TxnEncodesAsTheApiParsesIt) {
  Txn txn;
  txn.compares.push_back({"a", Compare::Target::create_revision, Compare::Result::equal, {}, 0});
  txn.compares.push_back({"b", Compare::Target::value, Compare::Result::not_equal, "x y", 0});
  txn.compares.push_back({"c", Compare::Target::mod_revision, Compare::Result::less, {}, 42});
  txn.success.push_back({RequestOp::Kind::put, "a", "v\n\"", 7});
  txn.success.push_back({RequestOp::Kind::range, "pre/", {}, 0});
  txn.failure.push_back({RequestOp::Kind::get, "a", {}, 0});
  txn.failure.push_back({RequestOp::Kind::del, "b", {}, 0});
  txn.failure.push_back({RequestOp::Kind::del_range, "c/", {}, 0});
  auto parsed = parse_txn(json::serialize(to_json(txn)), KvLimits{});
  ASSERT_TRUE(std::holds_alternative<Txn>(parsed));
  const auto& back = std::get<Txn>(parsed);
  ASSERT_EQ(back.compares.size(), 3u);
  EXPECT_EQ(back.compares[0].target, Compare::Target::create_revision);
  EXPECT_EQ(back.compares[1].value, "x y");
  EXPECT_EQ(back.compares[1].result, Compare::Result::not_equal);
  EXPECT_EQ(back.compares[2].number, 42);
  EXPECT_EQ(back.compares[2].result, Compare::Result::less);
  ASSERT_EQ(back.success.size(), 2u);
  EXPECT_EQ(back.success[0].value, "v\n\"");
  EXPECT_EQ(back.success[0].lease, 7);
  EXPECT_EQ(back.success[1].kind, RequestOp::Kind::range);
  EXPECT_EQ(back.success[1].key, "pre/");
  ASSERT_EQ(back.failure.size(), 3u);
  EXPECT_EQ(back.failure[1].kind, RequestOp::Kind::del);
  EXPECT_EQ(back.failure[2].kind, RequestOp::Kind::del_range);
}

TEST(RemoteStoreCodec, TxnResultDecodesWhatTheApiEncodes) {
  TxnResult result;
  result.succeeded = false;
  result.revision = 9;
  result.results.push_back({{KeyValue{"k", "v", 1, 2, 3, 4}}, 0});
  result.results.push_back({{}, 2});
  auto back = txn_result_from_json(to_json(result));
  ASSERT_TRUE(back);
  EXPECT_EQ(*back, result);
  EXPECT_FALSE(txn_result_from_json(json::parse(R"({"succeeded":1,"revision":2,"results":[]})")));
  EXPECT_FALSE(txn_result_from_json(
      json::parse(R"({"succeeded":true,"revision":2,"results":[{"kvs":[{"key":1}]}]})")));
  EXPECT_FALSE(txn_result_from_json(json::parse("[]")));
}

TEST(RemoteStore, SendsEachCallToItsRouteSigned) {
  FakeGateway gateway;
  auto store = store_for({gateway.endpoint()}, std::make_shared<SignsAs>());

  gateway.answer_json(200, [] {
    auto body = kv_json("a/b c", "v", 0);
    body["revision"] = 11;
    return body;
  }());
  auto read = run(store.range("a/b c", false, Consistency::serializable, in(5s)));
  ASSERT_TRUE(read.ok()) << read.error.message;
  ASSERT_EQ(read.value->kvs.size(), 1u);
  EXPECT_EQ(read.value->kvs[0].value, "v");
  EXPECT_EQ(read.value->revision, 11);

  gateway.answer_json(200, {{"id", 77}, {"ttl_ms", 3000}});
  auto granted = run(store.grant_lease(3000, in(5s)));
  ASSERT_TRUE(granted.ok()) << granted.error.message;
  EXPECT_EQ(granted.value->id, 77);

  gateway.answer_json(200, {{"id", 77}});
  EXPECT_TRUE(run(store.keep_alive(77, in(5s))).ok());

  gateway.answer_json(200, {{"id", 77}, {"revision", 12}});
  auto revoked = run(store.revoke_lease(77, in(5s)));
  ASSERT_TRUE(revoked.ok());
  EXPECT_EQ(revoked.value->revision, 12);

  TxnResult answer;
  answer.revision = 13;
  answer.results.push_back({});
  gateway.answer_json(200, to_json(answer));
  auto written = run(store.txn(put_txn("k", "v", 77), in(5s)));
  ASSERT_TRUE(written.ok()) << written.error.message;
  EXPECT_TRUE(written.value->succeeded);
  EXPECT_EQ(written.value->revision, 13);

  const auto seen = gateway.seen();
  ASSERT_EQ(seen.size(), 5u);
  EXPECT_EQ(seen[0].method, "GET");
  EXPECT_EQ(seen[0].target, "/api/kv/a%2Fb%20c?serializable=true");
  EXPECT_EQ(seen[1].target, "/api/kv/lease");
  EXPECT_EQ(json::parse(seen[1].body).at("ttl_ms").as_int64(), 3000);
  EXPECT_EQ(seen[2].target, "/api/kv/lease/77/keepalive");
  EXPECT_EQ(seen[3].method, "DELETE");
  EXPECT_EQ(seen[3].target, "/api/kv/lease/77");
  EXPECT_EQ(seen[4].target, "/api/kv/txn");
  auto txn = parse_txn(seen[4].body, KvLimits{});
  ASSERT_TRUE(std::holds_alternative<Txn>(txn));
  EXPECT_EQ(std::get<Txn>(txn).success[0].lease, 77);
  for (const auto& request : seen) {
    EXPECT_EQ(request.authorization, "Test " + request.method + " " + gateway.endpoint().str());
  }
}

TEST(RemoteStore, AbsentKeyIsAnEmptyReadAndReservedNamesAreReadByPrefix) {
  FakeGateway gateway;
  auto store = store_for({gateway.endpoint()});
  gateway.answer_json(404, {{"error", "key not found"}, {"revision", 4}});
  auto absent = run(store.range("nothing", false, Consistency::linearizable, in(5s)));
  ASSERT_TRUE(absent.ok()) << absent.error.message;
  EXPECT_TRUE(absent.value->kvs.empty());
  EXPECT_EQ(absent.value->revision, 4);

  gateway.answer_json(200,
                      {{"revision", 6},
                       {"count", 2},
                       {"kvs", json::array{kv_json("lease", "x", 0), kv_json("leases", "y", 0)}}});
  auto reserved = run(store.range("lease", false, Consistency::linearizable, in(5s)));
  ASSERT_TRUE(reserved.ok()) << reserved.error.message;
  ASSERT_EQ(reserved.value->kvs.size(), 1u);
  EXPECT_EQ(reserved.value->kvs[0].value, "x");
  EXPECT_EQ(gateway.seen().back().target, "/api/kv?prefix=lease");
}

TEST(RemoteStore, MapsRefusalsAsRaftStoreDoes) {
  FakeGateway gateway;
  auto store = store_for({gateway.endpoint()});
  gateway.answer_json(404, {{"error", "lease 5 not found"}});
  auto renewed = run(store.keep_alive(5, in(5s)));
  ASSERT_FALSE(renewed.ok());
  EXPECT_EQ(renewed.error.code, StoreErrorCode::rejected);

  auto revoked = run(store.revoke_lease(5, in(5s)));
  ASSERT_TRUE(revoked.ok());
  EXPECT_FALSE(revoked.value->error.empty());

  gateway.answer_json(400, {{"error", "unknown lease 9"}});
  auto written = run(store.txn(put_txn("k", "v", 9), in(5s)));
  ASSERT_TRUE(written.ok());
  EXPECT_FALSE(written.value->succeeded);
  EXPECT_EQ(written.value->error, "unknown lease 9");

  gateway.answer_json(504, {{"error", "lost"}, {"outcome", "unknown"}});
  EXPECT_EQ(run(store.txn(put_txn("k", "v"), in(5s))).error.code, StoreErrorCode::unknown_outcome);

  gateway.answer_json(401, {{"error", "request signature refused"}});
  EXPECT_EQ(run(store.grant_lease(1000, in(5s))).error.code, StoreErrorCode::rejected);

  auto watched = run(store.watch("p", 1, in(5s)));
  ASSERT_FALSE(watched.ok());
  EXPECT_EQ(watched.error.code, StoreErrorCode::rejected);
  EXPECT_NE(watched.error.message.find("unsupported"), std::string::npos);
}

TEST(RemoteStore, MalformedAnswersAreErrorsNotCrashes) {
  FakeGateway gateway;
  auto store = store_for({gateway.endpoint()});
  for (const std::string body :
       {"not json", "[]", "{}", R"({"id":"x","ttl_ms":1})", R"({"revision":1,"kvs":[{"key":"k"}]})",
        R"({"succeeded":true,"revision":1,"results":[1]})"}) {
    gateway.answer([body](const net::HttpRequest&) { return net::json_response(200, body); });
    EXPECT_FALSE(run(store.grant_lease(1000, in(5s))).ok()) << body;
    EXPECT_FALSE(run(store.keep_alive(1, in(5s))).ok()) << body;
    EXPECT_FALSE(run(store.txn(put_txn("k", "v"), in(5s))).ok()) << body;
    EXPECT_FALSE(run(store.range("k", true, Consistency::linearizable, in(5s))).ok()) << body;
    EXPECT_FALSE(run(store.range("k", false, Consistency::linearizable, in(5s))).ok()) << body;
  }
}

TEST(RemoteStore, PassesOverAGatewayThatIsDownOrHasNoLeader) {
  FakeGateway no_leader;
  FakeGateway good;
  no_leader.answer_json(503, {{"error", "no leader"}});
  good.answer_json(200, {{"id", 8}, {"ttl_ms", 1000}});
  auto store = store_for({closed_port(), no_leader.endpoint(), good.endpoint()});
  // A grant is not idempotent, but neither a refused connection nor a 503 did anything.
  auto granted = run(store.grant_lease(1000, in(10s)));
  ASSERT_TRUE(granted.ok()) << granted.error.message;
  EXPECT_EQ(granted.value->id, 8);
  EXPECT_EQ(no_leader.seen().size(), 1u);
  EXPECT_EQ(good.seen().size(), 1u);
  // The one that answered is asked first next time.
  EXPECT_EQ(store.preferred(), good.endpoint());
  ASSERT_TRUE(run(store.grant_lease(1000, in(10s))).ok());
  EXPECT_EQ(no_leader.seen().size(), 1u);
  EXPECT_EQ(good.seen().size(), 2u);
}

TEST(RemoteStore, AllDownIsUnavailable) {
  FakeGateway no_leader;
  no_leader.answer_json(503, {{"error", "no leader"}});
  auto store = store_for({closed_port(), no_leader.endpoint()});
  auto granted = run(store.grant_lease(1000, in(10s)));
  ASSERT_FALSE(granted.ok());
  EXPECT_EQ(granted.error.code, StoreErrorCode::unavailable);
}

TEST(RemoteStore, FollowsIslaLeader) {
  FakeGateway follower;
  FakeGateway leader;
  follower.answer([&](const net::HttpRequest&) {
    auto response = net::json_response(200, R"({"id":3})");
    response.headers.emplace_back("Isla-Leader", leader.endpoint().str());
    return response;
  });
  auto store = store_for({follower.endpoint(), leader.endpoint()});
  ASSERT_TRUE(run(store.keep_alive(3, in(5s))).ok());
  EXPECT_EQ(store.preferred(), leader.endpoint());
}

TEST(RemoteStore, AHungGatewayCostsAReadItsShareButATransactionItsOutcome) {
  FakeGateway hung;
  FakeGateway good;
  hung.hang(10s);
  auto store = store_for({hung.endpoint(), good.endpoint()});
  // The read gives the hung gateway half the time, then asks the other.
  good.answer_json(200, {{"revision", 2}, {"count", 0}, {"kvs", json::array{}}});
  auto read = run(store.range("p/", true, Consistency::linearizable, in(4s)));
  ASSERT_TRUE(read.ok()) << read.error.message;
  EXPECT_EQ(good.seen().size(), 1u);

  // The hung gateway is no longer preferred; make it first again with a fresh store.
  auto writes = store_for({hung.endpoint(), good.endpoint()});
  auto written = run(writes.txn(put_txn("k", "v"), in(1s)));
  ASSERT_FALSE(written.ok());
  EXPECT_EQ(written.error.code, StoreErrorCode::unknown_outcome);
  EXPECT_EQ(good.seen().size(), 1u) << "a transaction that may have arrived is not sent again";
}

}  // namespace
}  // namespace isla::store
