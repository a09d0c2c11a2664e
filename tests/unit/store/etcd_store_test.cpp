// EtcdStore against in-process fake etcd members: what it sends (etcd's JSON gateway, keys
// base64), how it reads etcd's answers (int64 as strings, defaults left out), how etcd's
// errors map onto StoreErrorCode, and which member it asks when one is down, has no leader
// or loses an answer: a read, or a write refused before proposing, moves on; a write whose
// answer was lost is unknown_outcome and is sent nowhere else.
#include "store/etcd/etcd_store.hpp"

#include <gtest/gtest.h>

#include "store/etcd/etcd_codec.hpp"
#include "store/txn_ops.hpp"
#include "support/scripted_server.hpp"

namespace isla::store::etcd {
namespace {

namespace json = boost::json;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;
using testing::closed_port;
using testing::run;
using testing::ScriptedServer;

// etcd 3.4.23's answer to a put (curl against a real member).
constexpr std::string_view kPutAnswer =
    R"({"header":{"cluster_id":"6400070839382031377","member_id":"14800746880489989046",)"
    R"("revision":"7","raft_term":"2"},"responses":[{"response_put":{"header":{"revision":"7"},)"
    R"("prev_kv":{"key":"Zm9v","create_revision":"2","mod_revision":"2","version":"1",)"
    R"("value":"YmFy"}}}],"succeeded":true})";

// And to a put of its own (/v3/kv/put with prev_kv), which a one-put transaction becomes.
constexpr std::string_view kSinglePutAnswer =
    R"({"header":{"cluster_id":"6400070839382031377","revision":"7","raft_term":"2"},)"
    R"("prev_kv":{"key":"Zm9v","create_revision":"2","mod_revision":"2","version":"1",)"
    R"("value":"YmFy"}})";

json::object grpc_error(int code, std::string_view message) {
  return {{"error", message}, {"message", message}, {"code", code}};
}

EtcdStore store_for(std::vector<core::Endpoint> endpoints) {
  EtcdStoreOptions options;
  options.endpoints = std::move(endpoints);
  options.client.connect_timeout = 500ms;
  return EtcdStore(options);
}

TEST(EtcdCodec, Base64RoundTripsAnyBytesAndRefusesGarbage) {
  const std::string bytes("k\0\xff/\x80", 5);
  EXPECT_EQ(base64_encode("foo"), "Zm9v");
  EXPECT_EQ(base64_decode(base64_encode(bytes)), bytes);
  EXPECT_EQ(base64_decode("Zm9v!A=="), std::nullopt);
  EXPECT_EQ(base64_decode("Zm9"), std::nullopt);
}

TEST(EtcdCodec, PrefixEndIsTheFirstKeyPastThePrefix) {
  EXPECT_EQ(prefix_end("a/"), "a0");
  EXPECT_EQ(prefix_end(std::string("a\xff", 2)), "b");
  EXPECT_EQ(prefix_end(""), std::string(1, '\0'));
}

TEST(EtcdCodec, TransactionSpellsEtcdsNamesAndAsksForPreviousValues) {
  Txn txn;
  txn.compares.push_back(revision_is("k", 5));
  txn.success.push_back(put_op("k", "v"));
  txn.success.back().lease = 42;
  txn.failure.push_back(get_op("k"));
  const auto request = txn_request(txn);
  const auto& compare = request.at("compare").at(0);
  EXPECT_EQ(compare.at("key").as_string(), "aw==");
  EXPECT_EQ(compare.at("target").as_string(), "MOD");
  EXPECT_EQ(compare.at("result").as_string(), "EQUAL");
  EXPECT_EQ(compare.at("mod_revision").as_string(), "5");
  const auto& put = request.at("success").at(0).at("request_put");
  EXPECT_EQ(put.at("value").as_string(), "dg==");
  EXPECT_EQ(put.at("lease").as_string(), "42");
  EXPECT_TRUE(put.at("prev_kv").as_bool());
  EXPECT_EQ(request.at("failure").at(0).at("request_range").at("key").as_string(), "aw==");
}

TEST(EtcdCodec, ReadsEtcdsAnswersWithDefaultsLeftOut) {
  Txn txn;
  txn.success.push_back(put_op("foo", "x"));
  auto result = txn_result_from_etcd(kPutAnswer, txn);
  ASSERT_TRUE(result);
  EXPECT_TRUE(result->succeeded);
  EXPECT_EQ(result->revision, 7);
  ASSERT_EQ(result->results.at(0).kvs.size(), 1u);
  EXPECT_EQ(result->results[0].kvs[0], (KeyValue{"foo", "bar", 2, 2, 1, 0}));
  // A failed comparison: "succeeded" is left out, and so is an empty range's "kvs".
  Txn guarded;
  guarded.failure.push_back(get_op("foo"));
  auto failed = txn_result_from_etcd(
      R"({"header":{"revision":"9"},"responses":[{"response_range":{"header":{}}}]})", guarded);
  ASSERT_TRUE(failed);
  EXPECT_FALSE(failed->succeeded);
  EXPECT_TRUE(failed->results.at(0).kvs.empty());
  // Answers of another shape are refused, not trusted.
  EXPECT_FALSE(txn_result_from_etcd(R"({"header":{"revision":"x"}})", txn));
  EXPECT_FALSE(
      txn_result_from_etcd(R"({"header":{"revision":"1"},"succeeded":true,"responses":[]})", txn));
  EXPECT_FALSE(txn_result_from_etcd("[]", txn));
}

TEST(EtcdCodec, ReadsASinglePutOrDeleteAsItsOneOpTransaction) {
  auto put = single_op_result_from_etcd(kSinglePutAnswer, put_txn("foo", "x"));
  ASSERT_TRUE(put);
  EXPECT_TRUE(put->succeeded);
  EXPECT_EQ(put->revision, 7);
  ASSERT_EQ(put->results.size(), 1u);
  ASSERT_EQ(put->results[0].kvs.size(), 1u);
  EXPECT_EQ(put->results[0].kvs[0], (KeyValue{"foo", "bar", 2, 2, 1, 0}));
  // A put of a new key: etcd leaves prev_kv out.
  auto fresh = single_op_result_from_etcd(R"({"header":{"revision":"8"}})", put_txn("new", "x"));
  ASSERT_TRUE(fresh);
  EXPECT_EQ(fresh->revision, 8);
  ASSERT_EQ(fresh->results.size(), 1u);
  EXPECT_TRUE(fresh->results[0].kvs.empty());
  // A delete: the count and the values it removed.
  auto deleted = single_op_result_from_etcd(
      R"({"header":{"revision":"9"},"deleted":"1","prev_kvs":[{"key":"Zm9v",)"
      R"("create_revision":"2","mod_revision":"7","version":"2","value":"YmFy"}]})",
      delete_txn("foo"));
  ASSERT_TRUE(deleted);
  EXPECT_EQ(deleted->revision, 9);
  EXPECT_EQ(deleted->results.at(0).deleted, 1);
  EXPECT_EQ(deleted->results[0].kvs.at(0).mod_revision, 7);
  // Answers of another shape are refused, not trusted.
  EXPECT_FALSE(single_op_result_from_etcd(R"({"prev_kv":{}})", put_txn("foo", "x")));
  EXPECT_FALSE(single_op_result_from_etcd(R"({"header":{"revision":"9"},"prev_kv":{"key":"!"}})",
                                          put_txn("foo", "x")));
  EXPECT_FALSE(
      single_op_result_from_etcd(R"({"header":{"revision":"9"},"deleted":true})", delete_txn("k")));
}

TEST(EtcdCodec, WatchMessagesCarryEventsCompactionAndErrors) {
  auto events = watch_message_from_etcd(
      R"({"result":{"header":{"revision":"4"},"events":[{"kv":{"key":"Zm9v","create_revision":"2",)"
      R"("mod_revision":"2","version":"1","value":"YmFy"}},{"type":"DELETE","kv":{"key":"Zm9v",)"
      R"("mod_revision":"3"}}]}})");
  ASSERT_TRUE(events);
  ASSERT_EQ(events->events.size(), 2u);
  EXPECT_EQ(events->events[0].type, Event::Type::put);
  EXPECT_EQ(events->events[1].type, Event::Type::del);
  EXPECT_EQ(events->events[1].kv.mod_revision, 3);
  auto compacted =
      watch_message_from_etcd(R"({"result":{"header":{},"canceled":true,"compact_revision":"3"}})");
  ASSERT_TRUE(compacted);
  EXPECT_TRUE(compacted->canceled);
  EXPECT_EQ(compacted->compact_revision, 3);
  auto error = watch_message_from_etcd(R"({"error":{"grpc_code":14,"message":"no leader"}})");
  ASSERT_TRUE(error && error->error);
  EXPECT_EQ(error->error->code, 14);
}

TEST(EtcdErrors, RefusalsBeforeProposingAreUnavailableLostAnswersAreUnknown) {
  const auto body = [](int code, std::string_view message) {
    return json::serialize(grpc_error(code, message));
  };
  EXPECT_EQ(error_of_answer(503, body(14, "etcdserver: no leader"), CallKind::write).code,
            StoreErrorCode::unavailable);
  EXPECT_EQ(error_of_answer(429, body(8, "etcdserver: too many requests"), CallKind::write).code,
            StoreErrorCode::unavailable);
  EXPECT_EQ(error_of_answer(503, body(14, "etcdserver: request timed out"), CallKind::write).code,
            StoreErrorCode::unknown_outcome);
  EXPECT_EQ(error_of_answer(503, body(14, "etcdserver: leader changed"), CallKind::write).code,
            StoreErrorCode::unknown_outcome);
  EXPECT_EQ(error_of_answer(503, body(14, "etcdserver: request timed out"), CallKind::read).code,
            StoreErrorCode::unavailable);
  EXPECT_EQ(error_of_answer(504, body(4, "context deadline exceeded"), CallKind::write).code,
            StoreErrorCode::unknown_outcome);
  EXPECT_EQ(
      error_of_answer(404, body(5, "etcdserver: requested lease not found"), CallKind::write).code,
      StoreErrorCode::not_found);
  EXPECT_EQ(error_of_answer(400, body(3, "etcdserver: too many operations in txn request"),
                            CallKind::write)
                .code,
            StoreErrorCode::rejected);
  EXPECT_EQ(error_of_answer(502, "<html>bad gateway</html>", CallKind::write).code,
            StoreErrorCode::unknown_outcome);
  EXPECT_EQ(error_of_transport(net::ClientErrorKind::connect, "refused", CallKind::write).code,
            StoreErrorCode::unavailable);
  EXPECT_EQ(error_of_transport(net::ClientErrorKind::timeout, "late", CallKind::write).code,
            StoreErrorCode::unknown_outcome);
  EXPECT_EQ(error_of_transport(net::ClientErrorKind::io, "reset", CallKind::read).code,
            StoreErrorCode::unavailable);
}

TEST(EtcdStore, SendsAPutAsEtcdsTransactionAndReadsTheAnswer) {
  ScriptedServer member;
  member.answer([](const net::HttpRequest&) {
    return net::json_response(200, std::string(kSinglePutAnswer));
  });
  auto store = store_for({member.endpoint()});
  const auto txn = put_txn("foo", "x");
  auto result = run(store.txn(txn, Clock::now() + 5s));
  ASSERT_TRUE(result.ok()) << result.error.message;
  EXPECT_EQ(result.value->revision, 7);
  ASSERT_EQ(result.value->results.size(), 1u);
  ASSERT_EQ(result.value->results[0].kvs.size(), 1u);
  EXPECT_EQ(result.value->results[0].kvs[0].value, "bar");
  const auto seen = member.seen();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].method, "POST");
  // One unconditional put goes as etcd's own put.
  EXPECT_EQ(seen[0].target, "/v3/kv/put");
  auto sent = json::parse(seen[0].body);
  EXPECT_EQ(sent.at("key").as_string(), "Zm9v");
  EXPECT_TRUE(sent.at("prev_kv").as_bool());
  EXPECT_TRUE(store.health().healthy);
  EXPECT_EQ(store.health().revision, 7);
}

// The KV API's writes cost etcd one request each: no read before a put, no probe of the
// member's health or leadership beside it.
TEST(EtcdStore, EachWriteIsOneRequestToOneMember) {
  ScriptedServer member;
  member.answer([](const net::HttpRequest& request) {
    if (request.target == "/v3/kv/deleterange") {
      return net::json_response(200, R"({"header":{"revision":"8"},"deleted":"1"})");
    }
    if (request.target == "/v3/kv/txn") {
      return net::json_response(
          200, R"({"header":{"revision":"9"},"responses":[{"response_put":{}}],"succeeded":true})");
    }
    return net::json_response(200, std::string(kSinglePutAnswer));
  });
  ScriptedServer other;
  auto store = store_for({member.endpoint(), other.endpoint()});
  auto put = run(store.txn(put_txn("foo", "x"), Clock::now() + 5s));
  auto deleted = run(store.txn(delete_txn("foo"), Clock::now() + 5s));
  Txn cas;
  cas.compares.push_back(revision_is("foo", 7));
  cas.success.push_back(put_op("foo", "y"));
  auto swapped = run(store.txn(cas, Clock::now() + 5s));
  ASSERT_TRUE(put.ok() && deleted.ok() && swapped.ok());
  EXPECT_EQ(put.value->revision, 7);
  EXPECT_EQ(deleted.value->revision, 8);
  EXPECT_EQ(deleted.value->results.at(0).deleted, 1);
  EXPECT_TRUE(swapped.value->succeeded);
  EXPECT_EQ(swapped.value->revision, 9);
  std::vector<std::string> targets;
  for (const auto& request : member.seen()) targets.push_back(request.target);
  EXPECT_EQ(targets, (std::vector<std::string>{"/v3/kv/put", "/v3/kv/deleterange", "/v3/kv/txn"}));
  EXPECT_TRUE(other.seen().empty());
  EXPECT_EQ(store.health().revision, 9);
  EXPECT_EQ(store.health().endpoint, member.endpoint().str());
}

TEST(EtcdStore, AWriteGoesOnToTheNextMemberWhenOneIsDownOrHasNoLeader) {
  ScriptedServer leaderless;
  leaderless.answer_json(503, grpc_error(14, "etcdserver: no leader"));
  ScriptedServer healthy;
  healthy.answer([](const net::HttpRequest&) {
    return net::json_response(200, std::string(kSinglePutAnswer));
  });
  auto store = store_for({closed_port(), leaderless.endpoint(), healthy.endpoint()});
  const auto txn = put_txn("foo", "x");
  auto result = run(store.txn(txn, Clock::now() + 5s));
  ASSERT_TRUE(result.ok()) << result.error.message;
  EXPECT_EQ(leaderless.seen().size(), 1u);
  EXPECT_EQ(healthy.seen().size(), 1u);
  EXPECT_EQ(store.health().failovers, 2u);
  // The member that answered is asked first next time.
  auto again = run(store.txn(txn, Clock::now() + 5s));
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(leaderless.seen().size(), 1u);
  EXPECT_EQ(healthy.seen().size(), 2u);
}

TEST(EtcdStore, AWriteWhoseAnswerIsLostIsUnknownAndSentNowhereElse) {
  ScriptedServer silent;
  silent.hang(3s);
  ScriptedServer healthy;
  auto store = store_for({silent.endpoint(), healthy.endpoint()});
  const auto txn = put_txn("foo", "x");
  auto result = run(store.txn(txn, Clock::now() + 500ms));
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error.code, StoreErrorCode::unknown_outcome) << result.error.message;
  EXPECT_TRUE(healthy.seen().empty()) << "a write that may have been applied was sent again";
  EXPECT_FALSE(store.health().healthy);
}

TEST(EtcdStore, AWriteEtcdTimedOutIsUnknown) {
  ScriptedServer member;
  member.answer_json(503, grpc_error(14, "etcdserver: request timed out"));
  ScriptedServer other;
  auto store = store_for({member.endpoint(), other.endpoint()});
  const auto txn = put_txn("foo", "x");
  auto result = run(store.txn(txn, Clock::now() + 5s));
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error.code, StoreErrorCode::unknown_outcome);
  EXPECT_TRUE(other.seen().empty());
}

TEST(EtcdStore, AReadWhoseAnswerIsLostIsAskedOfTheNextMember) {
  ScriptedServer silent;
  silent.hang(5s);
  ScriptedServer healthy;
  healthy.answer_json(200, json::object{{"header", json::object{{"revision", "12"}}},
                                        {"kvs", json::array{json::object{{"key", "Zm9v"},
                                                                         {"value", "YmFy"},
                                                                         {"create_revision", "3"},
                                                                         {"mod_revision", "11"},
                                                                         {"version", "4"}}}},
                                        {"count", "1"}});
  auto store = store_for({silent.endpoint(), healthy.endpoint()});
  const std::string key = "foo";
  auto result = run(store.range(key, false, Consistency::linearizable, Clock::now() + 4s));
  ASSERT_TRUE(result.ok()) << result.error.message;
  EXPECT_EQ(result.value->revision, 12);
  ASSERT_EQ(result.value->kvs.size(), 1u);
  EXPECT_EQ(result.value->kvs[0], (KeyValue{"foo", "bar", 3, 11, 4, 0}));
  ASSERT_EQ(healthy.seen().size(), 1u);
  EXPECT_EQ(json::parse(healthy.seen()[0].body).at("key").as_string(), "Zm9v");
}

TEST(EtcdStore, AnUnknownLeaseIsAnErrorInTheResultOrARefusedKeepAlive) {
  ScriptedServer member;
  member.answer([](const net::HttpRequest& request) {
    if (request.target == "/v3/lease/keepalive") {
      // etcd's answer for a lease it does not know: no TTL.
      return net::json_response(200, R"({"result":{"header":{"revision":"3"},"ID":"77"}})");
    }
    return net::json_response(
        404, json::serialize(grpc_error(5, "etcdserver: requested lease not found")));
  });
  auto store = store_for({member.endpoint()});
  auto put = put_txn("foo", "x", 77);
  auto written = run(store.txn(put, Clock::now() + 5s));
  ASSERT_TRUE(written.ok());
  EXPECT_FALSE(written.value->error.empty());
  auto alive = run(store.keep_alive(77, Clock::now() + 5s));
  ASSERT_FALSE(alive.ok());
  EXPECT_EQ(alive.error.code, StoreErrorCode::rejected);
  auto revoked = run(store.revoke_lease(77, Clock::now() + 5s));
  ASSERT_TRUE(revoked.ok());
  EXPECT_FALSE(revoked.value->error.empty());
}

TEST(EtcdStore, MalformedAnswersAreRefusedNotTrusted) {
  ScriptedServer member;
  member.answer([](const net::HttpRequest&) {
    return net::json_response(200, R"({"header":{"revision":"1"},"kvs":[{"key":"!!"}]})");
  });
  auto store = store_for({member.endpoint()});
  const std::string key = "foo";
  auto result = run(store.range(key, true, Consistency::serializable, Clock::now() + 5s));
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error.code, StoreErrorCode::unavailable);
  EXPECT_TRUE(json::parse(member.seen().at(0).body).at("serializable").as_bool());
}

TEST(EtcdUrl, ParsesEveryMemberAndRefusesOtherSchemes) {
  std::string error;
  auto endpoints = parse_etcd_url("etcd://127.0.0.1:2379,10.0.0.2:2379", error);
  ASSERT_TRUE(endpoints);
  ASSERT_EQ(endpoints->size(), 2u);
  EXPECT_EQ((*endpoints)[1].str(), "10.0.0.2:2379");
  EXPECT_FALSE(parse_etcd_url("http://127.0.0.1:2379", error));
  EXPECT_FALSE(parse_etcd_url("etcd://127.0.0.1:2379,nonsense", error));
  EXPECT_NE(error.find("nonsense"), std::string::npos);
}

}  // namespace
}  // namespace isla::store::etcd
