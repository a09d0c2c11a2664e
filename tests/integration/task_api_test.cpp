// The task API on three real gateways sharing an island secret (docs/tasks.md): who may
// call what, what bad input gets, and the answers of a queue with no worker yet (submit,
// read, list, cancel, idempotency, a sync submission that times out, the events feed).
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <set>

#include "net/http_stream.hpp"
#include "support/island.hpp"
#include "support/metrics_text.hpp"
#include "support/nats_cluster.hpp"
#include "support/raw_http.hpp"
#include "support/scope_exit.hpp"

namespace isla::testing {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;

// Every test runs on both queue back ends (issue 14): the embedded one, and NATS JetStream
// (a real 3-node nats-server -js cluster, the gateways started with --queue nats://...).
// One island per back end, shared by the suite's tests.
class TaskApi : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    auto& island = islands_[GetParam()];
    if (!island) {
      std::vector<std::string> flags;
      if (GetParam() == "nats") {
        nats_ = std::make_unique<NatsCluster>(3);
        flags = {"--queue", nats_->urls()};
      }
      island = std::make_unique<Island>();
      island->start_gateways(3, flags);
    }
    island_ = island.get();
  }
  static void TearDownTestSuite() {
    islands_.clear();
    nats_.reset();
  }

  net::ClientResult call(int gateway, std::string method, std::string target, std::string body,
                         std::optional<security::Role> role = security::Role::write) const {
    net::HttpRequest request;
    request.method = std::move(method);
    request.target = std::move(target);
    request.body = std::move(body);
    if (role) request.headers.emplace_back("Authorization", "Bearer " + island_->token(*role));
    return net::fetch(island_->gateway(gateway), request, 10s);
  }

  // Retries while the store elects its first leader (503), then answers what came.
  net::ClientResult settled_call(int gateway, const std::string& method, const std::string& target,
                                 const std::string& body) const {
    net::ClientResult result;
    eventually(
        [&] {
          result = call(gateway, method, target, body);
          return result.ok() && result.response->status != 503;
        },
        15s);
    return result;
  }

  static json::object body_of(const net::ClientResult& result) {
    return json::parse(result.response->body).as_object();
  }

  Island* island_ = nullptr;
  static std::map<std::string, std::unique_ptr<Island>> islands_;
  static std::unique_ptr<NatsCluster> nats_;
};

std::map<std::string, std::unique_ptr<Island>> TaskApi::islands_;
std::unique_ptr<NatsCluster> TaskApi::nats_;

INSTANTIATE_TEST_SUITE_P(Queues, TaskApi, ::testing::Values("embedded", "nats"),
                         [](const auto& info) { return info.param; });

TEST_P(TaskApi, AnonymousCallersAndReadTokensCannotSubmitAndStrangersCannotLease) {
  auto anonymous =
      call(0, "POST", "/api/tasks", R"({"type":"sum","params":{"values":[1]}})", std::nullopt);
  ASSERT_TRUE(anonymous.ok());
  EXPECT_EQ(anonymous.response->status, 401);
  auto reader = call(0, "POST", "/api/tasks", R"({"type":"sum","params":{"values":[1]}})",
                     security::Role::read);
  EXPECT_EQ(reader.response->status, 403);
  // A client token is not a node: the worker API needs the island secret.
  auto lease =
      call(0, "POST", "/internal/tasks/lease", R"({"worker":"w","max":1})", security::Role::admin);
  EXPECT_TRUE(lease.response->status == 401 || lease.response->status == 403)
      << lease.response->status;
  EXPECT_EQ(call(0, "GET", "/api/task-types", "", std::nullopt).response->status, 401);
}

TEST_P(TaskApi, BadSubmissionsNameTheFieldAndTheRule) {
  struct Case {
    std::string body;
    std::string field;
  };
  const std::vector<Case> cases = {
      {R"({"type":"primes","params":{"limit":1}})", "params.limit"},
      {R"({"type":"primes","params":{}})", "params.limit"},
      {R"({"type":"primes","params":{"limit":10,"limt":3}})", "params.limt"},
      {R"({"type":"no-such-type"})", "type"},
      {R"({"type":"sum","params":{"values":[1]},"priority":10})", "priority"},
      {R"({"type":"sum","params":{"values":[1]},"max_attempts":0})", "max_attempts"},
      {R"({"type":"sum","params":{"values":[1]},"wait_ms":-1})", "wait_ms"},
      {R"({"type":"sum","params":{"values":[1]},"idempotency_key":"has space"})",
       "idempotency_key"},
      {R"({"type":"sum","params":{"values":[1]},"colour":"red"})", "colour"},
  };
  for (const auto& c : cases) {
    auto result = settled_call(1, "POST", "/api/tasks", c.body);
    ASSERT_TRUE(result.ok()) << c.body;
    EXPECT_EQ(result.response->status, 400) << c.body << " -> " << result.response->body;
    auto body = body_of(result);
    EXPECT_EQ(body.at("field").as_string(), c.field) << result.response->body;
    EXPECT_FALSE(body.at("rule").as_string().empty());
  }
  for (const std::string bad : {"", "[]", "{", "null", "{\"type\":7}"}) {
    auto result = settled_call(1, "POST", "/api/tasks", bad);
    EXPECT_EQ(result.response->status, 400) << bad;
    EXPECT_TRUE(body_of(result).contains("error"));
  }
}

TEST_P(TaskApi, ATaskIsAcceptedReadListedAndCancelledFromAnyGateway) {
  auto submitted =
      settled_call(0, "POST", "/api/tasks", R"({"type":"primes","params":{"limit":1000}})");
  ASSERT_TRUE(submitted.ok()) << submitted.message << island_->gateway_log(0);
  ASSERT_EQ(submitted.response->status, 202) << submitted.response->body;
  const std::string id(body_of(submitted).at("id").as_string());
  EXPECT_EQ(body_of(submitted).at("status"), "queued");
  EXPECT_FALSE(body_of(submitted).contains("lease"));
  for (int gateway = 0; gateway < 3; ++gateway) {
    auto read = call(gateway, "GET", "/api/tasks/" + id, "", security::Role::read);
    ASSERT_EQ(read.response->status, 200);
    EXPECT_EQ(body_of(read).at("id").as_string(), id);
  }
  auto listed = call(2, "GET", "/api/tasks?status=queued&limit=1000", "", security::Role::read);
  bool found = false;
  const auto page = body_of(listed);
  for (const auto& task : page.at("tasks").as_array()) {
    found = found || task.at("id").as_string() == id;
  }
  EXPECT_TRUE(found);
  auto cancelled = call(2, "DELETE", "/api/tasks/" + id, "");
  ASSERT_EQ(cancelled.response->status, 200) << cancelled.response->body;
  EXPECT_EQ(body_of(cancelled).at("status"), "cancelled");
  EXPECT_EQ(call(1, "DELETE", "/api/tasks/" + id, "").response->status, 409);
  EXPECT_EQ(
      call(1, "GET", "/api/tasks/00000000000000000000", "", security::Role::read).response->status,
      404);
  EXPECT_EQ(call(1, "GET", "/api/tasks/not-an-id", "", security::Role::read).response->status, 400);
  EXPECT_EQ(call(1, "GET", "/api/tasks?status=sleeping", "", security::Role::read).response->status,
            400);
  EXPECT_EQ(call(1, "GET", "/api/tasks?limit=0", "", security::Role::read).response->status, 400);
}

TEST_P(TaskApi, AResubmissionWithTheSameKeyAnswersWithTheFirstTask) {
  const std::string body =
      R"({"type":"sum","params":{"values":[4,5]},"idempotency_key":"api-test-once"})";
  auto first = settled_call(0, "POST", "/api/tasks", body);
  ASSERT_TRUE(first.ok()) << first.message;
  ASSERT_EQ(first.response->status, 202);
  auto again = call(1, "POST", "/api/tasks",
                    R"({"type":"sum","params":{"values":[6]},"idempotency_key":"api-test-once"})");
  ASSERT_EQ(again.response->status, 200) << again.response->body;
  EXPECT_EQ(body_of(again).at("id"), body_of(first).at("id"));
  EXPECT_EQ(body_of(again).at("duplicate"), true);
  EXPECT_EQ(body_of(again).at("params").at("values").as_array().size(), 2u);
}

// A submission that reaches a follower's gateway goes on to the leader's in a batch, signed
// with the island secret (the batch route admits nodes only), and its client still gets its
// own task; a key used before is answered with the first task from a batch too.
TEST_P(TaskApi, SubmissionsAtFollowersReachTheLeaderInSignedBatches) {
  const std::string series = R"(isla_http_requests_total{code="200",route="task_submit_batch"})";
  auto batches = [&] {
    double total = 0;
    for (int gateway = 0; gateway < 3; ++gateway) {
      auto scraped = call(gateway, "GET", "/metrics", "", std::nullopt);
      if (scraped.ok()) total += metric(scraped.response->body, series).value_or(0);
    }
    return total;
  };
  ASSERT_EQ(settled_call(0, "POST", "/api/tasks", R"({"type":"sum","params":{"values":[1]}})")
                .response->status,
            202);
  const double before = batches();
  std::set<std::string> ids;
  int via_follower = 0;
  for (int gateway = 0; gateway < 3; ++gateway) {
    for (int i = 0; i < 3; ++i) {
      auto submitted = call(gateway, "POST", "/api/tasks",
                            R"({"type":"sum","params":{"values":[)" + std::to_string(gateway) +
                                "," + std::to_string(i) + "]}}");
      ASSERT_TRUE(submitted.ok()) << submitted.message;
      ASSERT_EQ(submitted.response->status, 202) << submitted.response->body;
      ids.insert(std::string(body_of(submitted).at("id").as_string()));
      if (submitted.response->header("Isla-Leader")) ++via_follower;
    }
  }
  EXPECT_EQ(ids.size(), 9u);
  EXPECT_EQ(via_follower, 6);  // two of the three gateways follow
  std::set<std::string> keyed;
  int firsts = 0;
  for (int gateway = 0; gateway < 3; ++gateway) {
    auto submitted =
        call(gateway, "POST", "/api/tasks",
             R"({"type":"sum","params":{"values":[7]},"idempotency_key":"api-test-batched"})");
    ASSERT_TRUE(submitted.ok()) << submitted.message;
    if (submitted.response->status == 202) ++firsts;
    keyed.insert(std::string(body_of(submitted).at("id").as_string()));
  }
  EXPECT_EQ(firsts, 1);
  EXPECT_EQ(keyed.size(), 1u);
  EXPECT_GE(batches() - before, 8);  // the follower's submissions, each in a batch (of one)
}

TEST_P(TaskApi, ASyncSubmissionWithNoWorkerAnswers202WithTheTaskAtItsWait) {
  const auto started = std::chrono::steady_clock::now();
  auto result = settled_call(2, "POST", "/api/tasks",
                             R"({"type":"sum","params":{"values":[1]},"sync":true,"wait_ms":300})");
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result.response->status, 202) << result.response->body;
  EXPECT_EQ(body_of(result).at("status"), "queued");
  EXPECT_GE(std::chrono::steady_clock::now() - started, 300ms);
}

TEST_P(TaskApi, TheEventsFeedStreamsTaskChangesAndRefusesBadCursors) {
  EXPECT_EQ(call(0, "GET", "/api/events?topics=weather", "", security::Role::read).response->status,
            400);
  net::HttpRequest bad_cursor;
  bad_cursor.target = "/api/events";
  bad_cursor.headers.emplace_back("Authorization",
                                  "Bearer " + island_->token(security::Role::read));
  bad_cursor.headers.emplace_back("Last-Event-ID", "yesterday");
  EXPECT_EQ(net::fetch(island_->gateway(0), bad_cursor, 5s).response->status, 400);

  settled_call(0, "POST", "/api/tasks", R"({"type":"sum","params":{"values":[0]}})");
  net::HttpRequest request;
  request.target = "/api/events?topics=tasks";
  request.headers.emplace_back("Authorization", "Bearer " + island_->token(security::Role::read));
  std::string seen;
  std::thread submit;
  net::SseParser parser;
  net::StreamOptions options;
  options.idle_timeout = 10s;
  net::fetch_stream(island_->gateway(0), request, options, [&](std::string_view bytes) {
    // The stream's first bytes say the subscription is live: submit then.
    if (!submit.joinable()) {
      submit = std::thread(
          [&] { call(1, "POST", "/api/tasks", R"({"type":"sum","params":{"values":[42]}})"); });
    }
    bool more = true;
    parser.feed(bytes, [&](const net::SseEvent& event) {
      if (event.type == "task" && event.data.find("[42]") != std::string::npos) {
        seen = event.id;
        more = false;
      }
      return more;
    });
    return more;
  });
  if (submit.joinable()) submit.join();
  EXPECT_FALSE(seen.empty()) << "no task event for the task submitted after subscribing";
  EXPECT_NE(seen.find('.'), std::string::npos) << "the cursor is REVISION.EVENT: " << seen;
}

// A subscriber that stops reading is cut off once it is 1 MiB behind; the gateway goes on
// serving everyone else.
TEST_P(TaskApi, AnEventsSubscriberThatStopsReadingIsCutOffAndOthersAreServed) {
  const std::string request =
      "GET /api/events?topics=tasks HTTP/1.1\r\nHost: test\r\n"
      "Authorization: Bearer " +
      island_->token(security::Role::read) + "\r\n\r\n";
  RawConnection stalled(island_->gateway(2), request, 4096);
  ASSERT_TRUE(stalled.connected());
  ASSERT_NE(stalled.read_until(": subscribed", 5s).find(": subscribed"), std::string::npos);

  // Each queued task's event carries its 30,000 numbers (~150 KiB): a few dozen fill the
  // kernel's buffers and then the gateway's allowance.
  std::string values;
  for (int i = 0; i < 30'000; ++i) values += (values.empty() ? "" : ",") + std::to_string(i);
  const std::string body = R"({"type":"sort","params":{"values":[)" + values + "]}}";
  const auto cut_off = [&] {
    return island_->gateway_log(2).find("events subscriber cut off") != std::string::npos;
  };
  for (int i = 0; i < 200 && !cut_off(); ++i) {
    auto submitted = settled_call(i % 3, "POST", "/api/tasks", body);
    ASSERT_TRUE(submitted.ok() && submitted.response->status == 202);
  }
  ASSERT_TRUE(eventually(cut_off, 10s)) << "the stalled subscriber was never cut off";

  // Reading at last, it finds the error event that ended its stream, and where to resume.
  const auto reply = stalled.read_to_end(10s);
  EXPECT_NE(reply.find("event: error"), std::string::npos);
  EXPECT_NE(reply.find("subscriber too slow"), std::string::npos);
  EXPECT_NE(reply.find("resume_from"), std::string::npos);

  // Another subscriber on the same gateway is served as before.
  net::HttpRequest follow;
  follow.target = "/api/events?topics=tasks";
  follow.headers.emplace_back("Authorization", "Bearer " + island_->token(security::Role::read));
  bool seen = false;
  std::thread submit;
  net::StreamOptions options;
  options.idle_timeout = 10s;
  net::SseParser parser;
  net::fetch_stream(island_->gateway(2), follow, options, [&](std::string_view bytes) {
    if (!submit.joinable()) {
      submit = std::thread(
          [&] { call(0, "POST", "/api/tasks", R"({"type":"sum","params":{"values":[7,7,7]}})"); });
    }
    parser.feed(bytes, [&](const net::SseEvent& event) {
      seen = seen || (event.type == "task" && event.data.find("[7,7,7]") != std::string::npos);
      return !seen;
    });
    return !seen;
  });
  if (submit.joinable()) submit.join();
  EXPECT_TRUE(seen);
}

}  // namespace
}  // namespace isla::testing
