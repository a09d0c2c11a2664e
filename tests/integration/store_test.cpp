// The island store through its HTTP API on three real gateways: replication, forwarding of
// writes to the leader, linearizable and serializable reads, transactions, watches, leases
// and bad input; and, on one gateway, the bounds on what watches hold.
#include <gtest/gtest.h>

#include <atomic>
#include <boost/json.hpp>
#include <thread>

#include "net/http_stream.hpp"
#include "store/kv_state_machine.hpp"
#include "support/raw_http.hpp"
#include "support/scope_exit.hpp"
#include "support/store_cluster.hpp"

namespace isla::testing {
namespace {

namespace json = boost::json;

json::value body_of_text(const std::string& text) {
  boost::system::error_code error;
  auto value = json::parse(text, error);
  return error ? json::value() : value;
}

json::value body_of(const net::ClientResult& result) {
  if (!result.ok()) return nullptr;
  return body_of_text(result.response->body);
}

class StoreTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    cluster_ = new StoreCluster(3);
    cluster_->start_all();
    leader_ = cluster_->wait_for_leader(std::chrono::seconds(10)).value_or(-1);
  }
  static void TearDownTestSuite() {
    delete cluster_;
    cluster_ = nullptr;
  }
  void SetUp() override { ASSERT_GE(leader_, 0) << "no store leader was elected"; }

  int follower() const { return (leader_ + 1) % cluster_->size(); }

  net::ClientResult put(int node, const std::string& key, const std::string& body) {
    return cluster_->request(node, "PUT", "/api/kv/" + key, body);
  }

  static StoreCluster* cluster_;
  static int leader_;
};

StoreCluster* StoreTest::cluster_ = nullptr;
int StoreTest::leader_ = -1;

TEST_F(StoreTest, WriteToAFollowerIsForwardedAndEveryReplicaReadsIt) {
  auto written = put(follower(), "greeting", R"({"value":"hola"})");
  ASSERT_TRUE(written.ok()) << written.message;
  ASSERT_EQ(written.response->status, 200) << written.response->body;
  const auto revision = body_of(written).at("revision").as_int64();
  EXPECT_GT(revision, 0);
  for (int node = 0; node < cluster_->size(); ++node) {
    auto read = cluster_->request(node, "GET", "/api/kv/greeting");
    ASSERT_TRUE(read.ok());
    ASSERT_EQ(read.response->status, 200) << "node " << node << ": " << read.response->body;
    auto kv = body_of(read);
    EXPECT_EQ(kv.at("value").as_string(), "hola");
    EXPECT_EQ(kv.at("mod_revision").as_int64(), revision);
  }
  // A serializable read is served locally and catches up without the leader's help.
  EXPECT_TRUE(eventually(
      [&] {
        auto read = cluster_->request(follower(), "GET", "/api/kv/greeting?serializable=true");
        return read.ok() && read.response->status == 200;
      },
      std::chrono::seconds(5)));
}

TEST_F(StoreTest, RevisionsIncreaseAndDeleteRemovesTheKey) {
  auto first = body_of(put(leader_, "counter", R"({"value":"1"})"));
  auto second = body_of(put(follower(), "counter", R"({"value":"2"})"));
  ASSERT_TRUE(first.is_object() && second.is_object());
  EXPECT_GT(second.at("revision").as_int64(), first.at("revision").as_int64());
  EXPECT_EQ(second.at("prev").at("value").as_string(), "1");
  auto kv = body_of(cluster_->request(leader_, "GET", "/api/kv/counter"));
  EXPECT_EQ(kv.at("version").as_int64(), 2);

  auto deleted = cluster_->request(follower(), "DELETE", "/api/kv/counter");
  ASSERT_TRUE(deleted.ok());
  EXPECT_EQ(body_of(deleted).at("deleted").as_int64(), 1);
  auto gone = cluster_->request(leader_, "GET", "/api/kv/counter");
  ASSERT_TRUE(gone.ok());
  EXPECT_EQ(gone.response->status, 404);
}

TEST_F(StoreTest, PrefixListingReturnsOnlyThatPrefixInKeyOrder) {
  for (const char* key : {"fruit/pear", "fruit/apple", "veg/leek"}) {
    ASSERT_EQ(put(leader_, key, R"({"value":"x"})").response->status, 200);
  }
  auto listed = body_of(cluster_->request(follower(), "GET", "/api/kv?prefix=fruit/"));
  ASSERT_TRUE(listed.is_object());
  const auto& kvs = listed.at("kvs").as_array();
  ASSERT_EQ(kvs.size(), 2u);
  EXPECT_EQ(kvs[0].at("key").as_string(), "fruit/apple");
  EXPECT_EQ(kvs[1].at("key").as_string(), "fruit/pear");
}

TEST_F(StoreTest, CompareAndSwapSucceedsOnceAndReportsTheCurrentValueOnFailure) {
  const std::string txn = R"({
    "compare": [{"key": "lock", "target": "version", "result": "equal", "value": 0}],
    "success": [{"op": "put", "key": "lock", "value": "mine"}],
    "failure": [{"op": "get", "key": "lock"}]})";
  auto first = body_of(cluster_->request(follower(), "POST", "/api/kv/txn", txn));
  ASSERT_TRUE(first.is_object());
  EXPECT_TRUE(first.at("succeeded").as_bool());
  auto second = body_of(cluster_->request(leader_, "POST", "/api/kv/txn", txn));
  ASSERT_TRUE(second.is_object());
  EXPECT_FALSE(second.at("succeeded").as_bool());
  EXPECT_EQ(second.at("results").at(0).at("kvs").at(0).at("value").as_string(), "mine");
}

TEST_F(StoreTest, WatchStreamsEventsFromTheRevisionAskedFor) {
  auto start = body_of(put(leader_, "watched/a", R"({"value":"one"})"));
  ASSERT_TRUE(start.is_object());
  const auto from = start.at("revision").as_int64();
  ASSERT_EQ(put(leader_, "watched/b", R"({"value":"two"})").response->status, 200);
  ASSERT_EQ(put(leader_, "other", R"({"value":"three"})").response->status, 200);
  // The stream does not end by itself: read what arrives within the timeout.
  const auto reply = raw_exchange(cluster_->address(follower()),
                                  "GET /api/kv/watch?prefix=watched/&from=" + std::to_string(from) +
                                      " HTTP/1.1\r\nHost: test\r\n\r\n",
                                  std::chrono::milliseconds(1500));
  EXPECT_EQ(status_of(reply), 200) << reply;
  EXPECT_NE(reply.find("text/event-stream"), std::string::npos);
  EXPECT_NE(reply.find(R"("key":"watched/a","value":"one")"), std::string::npos) << reply;
  EXPECT_NE(reply.find(R"("key":"watched/b","value":"two")"), std::string::npos) << reply;
  EXPECT_EQ(reply.find(R"("key":"other")"), std::string::npos) << reply;
}

TEST_F(StoreTest, KeysOfARevokedLeaseAreDeleted) {
  auto lease =
      body_of(cluster_->request(follower(), "POST", "/api/kv/lease", R"({"ttl_ms":60000})"));
  ASSERT_TRUE(lease.is_object());
  const auto id = lease.at("id").as_int64();
  auto attached =
      put(follower(), "session/1", R"({"value":"alive","lease":)" + std::to_string(id) + "}");
  ASSERT_EQ(attached.response->status, 200) << attached.response->body;
  auto kept =
      cluster_->request(leader_, "POST", "/api/kv/lease/" + std::to_string(id) + "/keepalive");
  EXPECT_EQ(kept.response->status, 200) << kept.response->body;
  auto revoked = cluster_->request(leader_, "DELETE", "/api/kv/lease/" + std::to_string(id));
  EXPECT_EQ(revoked.response->status, 200) << revoked.response->body;
  EXPECT_EQ(cluster_->request(leader_, "GET", "/api/kv/session/1").response->status, 404);
  // An unknown lease is refused, and the put with it does nothing.
  auto orphan = put(leader_, "session/2", R"({"value":"x","lease":12345})");
  EXPECT_EQ(orphan.response->status, 400);
  EXPECT_EQ(cluster_->request(leader_, "GET", "/api/kv/session/2").response->status, 404);
}

TEST_F(StoreTest, ExpiredLeaseTakesItsKeysAway) {
  auto lease = body_of(cluster_->request(leader_, "POST", "/api/kv/lease", R"({"ttl_ms":300})"));
  ASSERT_TRUE(lease.is_object());
  const auto id = lease.at("id").as_int64();
  ASSERT_EQ(put(leader_, "ephemeral", R"({"value":"x","lease":)" + std::to_string(id) + "}")
                .response->status,
            200);
  EXPECT_TRUE(eventually(
      [&] {
        return cluster_->request(leader_, "GET", "/api/kv/ephemeral").response->status == 404;
      },
      std::chrono::seconds(10)));
}

TEST_F(StoreTest, BadInputGetsA4xxNamingTheProblem) {
  const std::string cluster_id(cluster_->store_status(follower()).at("cluster_id").as_string());
  struct Case {
    std::string method, target, body;
    int status;
    std::string mentions;
  };
  const std::string big(1024 * 1024 + 10, 'x');
  const std::vector<Case> cases = {
      {"PUT", "/api/kv/k", "not json", 400, "not valid JSON"},
      {"PUT", "/api/kv/k", R"({"value": 5})", 400, "must be a string"},
      {"PUT", "/api/kv/k", R"({"valu": "x"})", 400, "unknown field"},
      {"PUT", "/api/kv/k", R"({"value":")" + big + R"("})", 413, "limit"},
      {"PUT", "/api/kv/%zz", R"({"value":"x"})", 400, "escape"},
      {"PUT", "/api/kv/a%00b", R"({"value":"x"})", 400, "NUL"},
      {"PUT", "/api/kv/" + std::string(5000, 'k'), R"({"value":"x"})", 400, "limit"},
      {"PUT", "/api/kv/txn", R"({"value":"x"})", 400, "reserved"},
      {"POST", "/api/kv/txn", "{}", 400, "empty"},
      {"POST", "/api/kv/txn", R"({"success":[{"op":"explode","key":"k"}]})", 400, "success[0]"},
      {"POST", "/api/kv/txn", R"({"compare":[{"key":"k","target":"colour","value":1}]})", 400,
       "compare[0]"},
      {"POST", "/api/kv/txn", R"({"compare":[{"key":"k","target":"version","value":"one"}]})", 400,
       "integer"},
      {"GET", "/api/kv/watch?from=-3", "", 400, "from"},
      {"GET", "/api/kv", "", 400, "prefix"},
      {"POST", "/api/kv/lease", R"({"ttl_ms":0})", 400, "ttl_ms"},
      {"POST", "/api/kv/lease/abc/keepalive", "", 400, "lease id"},
      {"POST", "/internal/raft/messages", "garbage", 409, "store cluster"},
      {"POST", "/internal/raft/messages?cluster=0000000000000001", "garbage", 409, "store cluster"},
      {"POST", "/internal/raft/messages?cluster=" + cluster_id, "garbage", 400, "Raft message"},
      {"POST", "/internal/raft/messages?cluster=" + cluster_id + "&reply=NOT-HEX", "", 400,
       "reply: not a nonce"},
      {"PATCH", "/api/kv/k", "", 405, "not allowed"},
  };
  for (const auto& c : cases) {
    auto answer = cluster_->request(follower(), c.method, c.target, c.body);
    ASSERT_TRUE(answer.ok()) << c.method << " " << c.target.substr(0, 60) << ": " << answer.message;
    EXPECT_EQ(answer.response->status, c.status)
        << c.method << " " << c.target.substr(0, 60) << ": " << answer.response->body;
    EXPECT_NE(answer.response->body.find(c.mentions), std::string::npos)
        << c.method << " " << c.target.substr(0, 60) << ": " << answer.response->body;
  }
  // And the store still serves.
  EXPECT_EQ(put(follower(), "after-bad-input", R"({"value":"fine"})").response->status, 200);
}

TEST_F(StoreTest, StatusShowsRaftRoleTermLeaderAndIndexes) {
  for (int node = 0; node < cluster_->size(); ++node) {
    auto status = cluster_->store_status(node);
    ASSERT_TRUE(status.is_object());
    EXPECT_EQ(status.at("role").as_string(), node == leader_ ? "leader" : "follower");
    EXPECT_GT(status.at("term").as_int64(), 0);
    EXPECT_EQ(status.at("leader_address").as_string(), cluster_->address(leader_).str());
    EXPECT_GE(status.at("commit").as_int64(), status.at("applied").as_int64() - 0);
    EXPECT_EQ(status.at("voters").as_array().size(), 3u);
  }
}

TEST(StoreGracefulStop, LeaderHandsOverLeadershipBeforeItLeaves) {
  StoreCluster cluster(3);
  cluster.start_all();
  auto leader = cluster.wait_for_leader(std::chrono::seconds(10));
  ASSERT_TRUE(leader);
  ASSERT_EQ(cluster.request(*leader, "PUT", "/api/kv/before", R"({"value":"1"})").response->status,
            200);
  const auto term_before = cluster.store_status(*leader).at("term").as_int64();
  EXPECT_EQ(cluster.interrupt(*leader, std::chrono::seconds(15)), 0);
  EXPECT_NE(cluster.log(*leader).find("store leadership handed over"), std::string::npos)
      << cluster.log(*leader);
  // The transfer elected the new leader before the old one left: one term later, and writes
  // go on.
  auto next = cluster.wait_for_leader(std::chrono::seconds(5));
  ASSERT_TRUE(next);
  EXPECT_NE(*next, *leader);
  EXPECT_EQ(cluster.store_status(*next).at("term").as_int64(), term_before + 1);
  auto after = cluster.request(*next, "PUT", "/api/kv/after", R"({"value":"2"})");
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(after.response->status, 200);
  auto read = body_of(cluster.request(*next, "GET", "/api/kv/before"));
  ASSERT_TRUE(read.is_object());
  EXPECT_EQ(read.at("value").as_string(), "1");
}

TEST(StoreLearner, GatewayOutsideTheVotersJoinsAsALearnerAndServes) {
  StoreCluster cluster(3, 1);
  cluster.start_all();
  auto leader = cluster.wait_for_leader(std::chrono::seconds(10));
  ASSERT_TRUE(leader);
  const int learner = 3;
  auto written = cluster.request(*leader, "PUT", "/api/kv/before-join", R"({"value":"old"})");
  ASSERT_EQ(written.response->status, 200);
  // The leader lists it as a learner, and it learns who leads.
  ASSERT_TRUE(eventually(
      [&] {
        auto status = cluster.store_status(*leader);
        return !status.is_null() && status.at("learners").as_array().size() == 1 &&
               cluster.store_status(learner).at("leader_address").as_string() ==
                   cluster.address(*leader).str();
      },
      std::chrono::seconds(10)))
      << cluster.log(learner);
  // It has what was written before it joined, forwards writes, and reads linearizably.
  EXPECT_TRUE(eventually(
      [&] {
        return cluster.request(learner, "GET", "/api/kv/before-join?serializable=true")
                   .response->status == 200;
      },
      std::chrono::seconds(10)));
  auto forwarded = cluster.request(learner, "PUT", "/api/kv/via-learner", R"({"value":"new"})");
  ASSERT_TRUE(forwarded.ok());
  EXPECT_EQ(forwarded.response->status, 200) << forwarded.response->body;
  auto read = body_of(cluster.request(learner, "GET", "/api/kv/via-learner"));
  ASSERT_TRUE(read.is_object());
  EXPECT_EQ(read.at("value").as_string(), "new");
  // A learner does not vote: its status never says candidate or leader.
  EXPECT_EQ(cluster.store_status(learner).at("role").as_string(), "follower");
}

std::string watch_request(const std::string& prefix, std::int64_t from) {
  return "GET /api/kv/watch?prefix=" + prefix + "&from=" + std::to_string(from) +
         " HTTP/1.1\r\nHost: test\r\n\r\n";
}

std::string value_of(std::size_t bytes) {
  return R"({"value":")" + std::string(bytes, 'v') + R"("})";
}

// The first event of `type` in a raw event stream, as JSON (null if there is none). Each
// event the store sends sits whole in one HTTP chunk, so the chunk framing never splits one.
json::value event_data(const std::string& reply, const std::string& type) {
  const std::string field = "event: " + type + "\ndata: ";
  const auto at = reply.find(field);
  if (at == std::string::npos) return nullptr;
  const auto start = at + field.size();
  return body_of_text(reply.substr(start, reply.find("\n\n", start) - start));
}

std::vector<std::int64_t> event_ids(const std::string& reply) {
  std::vector<std::int64_t> ids;
  for (auto at = reply.find("\nid: "); at != std::string::npos; at = reply.find("\nid: ", at + 1)) {
    ids.push_back(std::stoll(reply.substr(at + 5)));
  }
  return ids;
}

// The gateway's isla_http_stream_unsent_bytes, or -1 when it does not answer.
double unsent_stream_bytes(const StoreCluster& cluster, int node) {
  auto metrics = cluster.request(node, "GET", "/metrics");
  if (!metrics.ok()) return -1;
  const std::string name = "\nisla_http_stream_unsent_bytes ";
  const auto at = metrics.response->body.find(name);
  if (at == std::string::npos) return -1;
  return std::stod(metrics.response->body.substr(at + name.size()));
}

// One gateway whose watches may leave at most 256 KiB unread.
class StoreWatchLimits : public ::testing::Test {
 protected:
  void SetUp() override {
    cluster_.start_all();
    ASSERT_TRUE(cluster_.wait_for_leader(std::chrono::seconds(10)));
  }
  std::int64_t revision() {
    return body_of(cluster_.request(0, "GET", "/api/kv?prefix=")).at("revision").as_int64();
  }
  std::int64_t put(const std::string& key, std::size_t value_bytes) {
    auto written = body_of(cluster_.request(0, "PUT", "/api/kv/" + key, value_of(value_bytes)));
    return written.is_object() ? written.at("revision").as_int64() : -1;
  }

  static constexpr std::size_t kMaxUnread = 256 * 1024;
  StoreCluster cluster_{1, 0, {"--store-watch-max-unread-bytes", std::to_string(kMaxUnread)}};
};

TEST_F(StoreWatchLimits, AWatcherThatStopsReadingIsCutOffWhileAnotherKeepsUp) {
  const auto from = revision() + 1;
  RawConnection stalled(cluster_.address(0), watch_request("big/", from), 4096);
  ASSERT_TRUE(stalled.connected());

  std::atomic<std::int64_t> last_seen{0};
  std::atomic<bool> reader_told_error{false};
  std::atomic<bool> enough{false};
  std::jthread reader([&] {
    net::HttpRequest request;
    request.target = "/api/kv/watch?prefix=big/&from=" + std::to_string(from);
    net::StreamOptions options;
    options.idle_timeout = std::chrono::seconds(20);  // past the 15 s keep-alives
    net::SseParser parser;
    net::fetch_stream(cluster_.address(0), request, options, [&](std::string_view data) {
      parser.feed(data, [&](const net::SseEvent& event) {
        if (event.type == "error") reader_told_error = true;
        if (event.type == "put") last_seen = std::stoll(event.id);
        return true;
      });
      return !enough;
    });
  });
  const ScopeExit release([&] {
    enough = true;
    put("big/last", 1);  // wakes the reader, which then leaves
  });

  // Each write once the reader has the one before: it keeps up, the stalled watcher does not.
  const auto cut_off = [&] {
    return cluster_.log(0).find("store watch cut off") != std::string::npos;
  };
  std::int64_t written = 0;
  for (int i = 0; i < 600 && !cut_off(); ++i) {
    written = put("big/" + std::to_string(i), 64 * 1024);
    ASSERT_GT(written, 0);
    ASSERT_TRUE(eventually([&] { return last_seen == written; }, std::chrono::seconds(5)))
        << "the reader that keeps up is at " << last_seen << ", the store at " << written;
  }
  ASSERT_TRUE(cut_off()) << "the stalled watcher was never cut off";
  EXPECT_GT(unsent_stream_bytes(cluster_, 0), 0);  // what it left, until it reads or times out

  // The other watcher goes on.
  written = put("big/after", 10);
  EXPECT_TRUE(eventually([&] { return last_seen == written; }, std::chrono::seconds(5)));
  EXPECT_FALSE(reader_told_error);

  // Reading at last, the stalled watcher finds every event up to the cut, then the error
  // event saying where to resume; resuming there misses nothing.
  const auto reply = stalled.read_to_end(std::chrono::seconds(10));
  const auto ids = event_ids(reply);
  ASSERT_FALSE(ids.empty()) << reply.substr(0, 300);
  for (std::size_t i = 0; i < ids.size(); ++i) {
    ASSERT_EQ(ids[i], from + static_cast<std::int64_t>(i));
  }
  const auto error = event_data(reply, "error");
  ASSERT_TRUE(error.is_object()) << reply.substr(reply.size() -
                                                 std::min<std::size_t>(reply.size(), 300));
  const auto unread = error.at("unread_bytes").to_number<std::int64_t>();
  EXPECT_GT(unread, 0);
  EXPECT_EQ(error.at("error").as_string(),
            "watcher too slow: " + std::to_string(unread) + " bytes unread");
  const auto resume_from = error.at("resume_from").as_int64();
  EXPECT_EQ(resume_from, ids.back() + 1);
  EXPECT_LT(resume_from, written);
  EXPECT_TRUE(reply.ends_with("\r\n0\r\n\r\n")) << "the stream did not end";
  const auto resumed = raw_exchange(cluster_.address(0), watch_request("big/", resume_from),
                                    std::chrono::milliseconds(1500));
  const auto resumed_ids = event_ids(resumed);
  ASSERT_FALSE(resumed_ids.empty()) << resumed.substr(0, 300);
  EXPECT_EQ(resumed_ids.front(), resume_from);

  // Nothing is held for it any more (the reader is up to date).
  EXPECT_TRUE(
      eventually([&] { return unsent_stream_bytes(cluster_, 0) == 0; }, std::chrono::seconds(5)))
      << unsent_stream_bytes(cluster_, 0);
}

// With values of 512 KiB the history's byte bound, not its 10,000 events, decides what is
// kept; a watch from before it is told so, and one replaying it gets it at its own pace.
TEST_F(StoreWatchLimits, ByteBoundedHistoryIsCompactedAndReplayedAtTheReadersPace) {
  constexpr std::size_t kValueBytes = 512 * 1024;
  const auto first = revision() + 1;
  std::int64_t last = 0;
  for (int i = 100; i < 240; ++i) last = put("history/" + std::to_string(i), kValueBytes);
  ASSERT_EQ(last, first + 139);
  store::Event one;
  one.kv.key = "history/100";
  one.kv.value.assign(kValueBytes, 'v');
  const auto kept = static_cast<std::int64_t>(store::KvStateMachine::kDefaultHistoryBytes /
                                              store::KvStateMachine::event_bytes(one));

  const auto reply = raw_exchange(cluster_.address(0), watch_request("history/", first),
                                  std::chrono::milliseconds(3000));
  const auto compacted = event_data(reply, "compacted");
  ASSERT_TRUE(compacted.is_object()) << reply.substr(0, 300);
  EXPECT_EQ(compacted.at("compact_revision").as_int64(), last - kept + 1);
  EXPECT_TRUE(event_ids(reply).empty());
  EXPECT_TRUE(reply.ends_with("\r\n0\r\n\r\n")) << "the stream did not end";

  // From there on, the history is whole. (The prefix names that revision's key alone, so
  // that the replay is one event, not 64 MiB.)
  const auto oldest = last - kept + 1;
  const auto oldest_key = "history/" + std::to_string(100 + (oldest - first));
  const auto kept_reply = raw_exchange(cluster_.address(0), watch_request(oldest_key, oldest),
                                       std::chrono::milliseconds(1500));
  const auto ids = event_ids(kept_reply);
  ASSERT_FALSE(ids.empty());
  EXPECT_EQ(ids, std::vector<std::int64_t>{oldest});
  EXPECT_EQ(event_data(kept_reply, "compacted"), json::value(nullptr));

  // 20 MiB of history under history/2, far over what a watcher may leave unread: a watcher
  // replaying it is not too slow however it reads, since the rest waits in the store.
  RawConnection replay(cluster_.address(0), watch_request("history/2", oldest), 64 * 1024);
  EXPECT_TRUE(
      eventually([&] { return unsent_stream_bytes(cluster_, 0) > 0; }, std::chrono::seconds(10)))
      << "the server never waited for the replaying watcher";
  const auto replayed =
      replay.read_until("\nid: " + std::to_string(last) + "\n", std::chrono::seconds(30));
  EXPECT_EQ(replayed.find("event: error"), std::string::npos);
  std::vector<std::int64_t> expected;
  for (auto revision = last - 39; revision <= last; ++revision) expected.push_back(revision);
  EXPECT_EQ(event_ids(replayed), expected);
}

}  // namespace
}  // namespace isla::testing
