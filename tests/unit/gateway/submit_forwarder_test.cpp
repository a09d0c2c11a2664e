#include "gateway/submit_forwarder.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <map>
#include <set>

#include "gateway/submit_batch_wire.hpp"
#include "gateway/task_routes.hpp"
#include "net/router.hpp"
#include "security/crypto.hpp"
#include "security/guard.hpp"
#include "security/island_secret.hpp"
#include "security/request_auth.hpp"
#include "security/token.hpp"
#include "support/memory_store.hpp"
#include "support/run_coroutine.hpp"
#include "tasks/queue/task_record.hpp"

namespace isla::gateway {
namespace {

// GCC 12's false -Wmismatched-new-delete on inlined Asio coroutine frames.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

using namespace std::chrono_literals;
using SteadyClock = std::chrono::steady_clock;
using store::StoreErrorCode;
using testing::until;
namespace json = boost::json;

// The queue at the leader's gateway: every submission is a new task, except those whose
// idempotency key says otherwise ("seen": an earlier task; "clash": the store refuses it).
class FakeQueue final : public tasks::TaskQueue {
 public:
  template <class T>
  static tasks::QueueResult<T> refused() {
    return {std::nullopt, {StoreErrorCode::unavailable, "not in this fake", {}}};
  }

  asio::awaitable<tasks::QueueResult<tasks::Submitted>> submit(const tasks::SubmitSpec& spec,
                                                               tasks::Deadline) override {
    ++submitted;
    if (spec.idempotency_key == "clash") {
      tasks::QueueResult<tasks::Submitted> conflict{
          std::nullopt, {StoreErrorCode::conflict, "a task with this id exists already", {}}};
      co_return conflict;
    }
    tasks::TaskRecord record;
    record.type = spec.type;
    record.params = spec.params;
    const bool duplicate = spec.idempotency_key == "seen";
    record.id = tasks::make_task_id(1'000'000, duplicate ? 1 : ++next_);
    tasks::QueueResult<tasks::Submitted> submitted{tasks::Submitted{record, duplicate}, {}};
    co_return submitted;
  }
  asio::awaitable<tasks::QueueResult<tasks::TaskRecord>> get(const std::string&,
                                                             tasks::Deadline) override {
    co_return refused<tasks::TaskRecord>();
  }
  asio::awaitable<tasks::QueueResult<tasks::TaskPage>> list(std::optional<tasks::TaskStatus>,
                                                            const std::string&, std::size_t,
                                                            tasks::Deadline) override {
    co_return refused<tasks::TaskPage>();
  }
  asio::awaitable<tasks::QueueResult<tasks::TaskRecord>> cancel(const std::string&,
                                                                tasks::Deadline) override {
    co_return refused<tasks::TaskRecord>();
  }
  asio::awaitable<tasks::QueueResult<tasks::TaskRecord>> wait_settled(const std::string&,
                                                                      tasks::Deadline) override {
    co_return refused<tasks::TaskRecord>();
  }
  asio::awaitable<tasks::QueueResult<std::vector<tasks::TaskRecord>>> lease(
      const tasks::LeaseAsk&, tasks::Deadline) override {
    co_return refused<std::vector<tasks::TaskRecord>>();
  }
  asio::awaitable<tasks::QueueResult<tasks::Settled>> extend(const std::string&,
                                                             const std::vector<tasks::LeaseRef>&,
                                                             std::int64_t,
                                                             tasks::Deadline) override {
    co_return refused<tasks::Settled>();
  }
  asio::awaitable<tasks::QueueResult<tasks::Settled>> complete(
      const std::string&, const std::vector<tasks::AttemptResult>&, tasks::Deadline) override {
    co_return refused<tasks::Settled>();
  }
  asio::awaitable<tasks::QueueResult<bool>> heartbeat(const tasks::WorkerReport&,
                                                      tasks::Deadline) override {
    co_return refused<bool>();
  }
  asio::awaitable<tasks::QueueResult<bool>> bye(const std::string&, tasks::Deadline) override {
    co_return refused<bool>();
  }
  asio::awaitable<tasks::QueueResult<bool>> request_drain(const std::string&,
                                                          tasks::Deadline) override {
    co_return refused<bool>();
  }
  tasks::QueueStats stats() const override { return {}; }

  int submitted = 0;

 private:
  std::uint64_t next_ = 100;
};

const std::string kSum = R"({"type":"sum","params":{"values":[1,2]}})";

std::string with_key(const std::string& key) {
  return R"({"type":"sum","params":{"values":[1,2]},"idempotency_key":")" + key + "\"}";
}

json::object body_of(const net::HttpResponse& response) {
  json::error_code ec;
  auto parsed = json::parse(response.body, ec);
  if (ec || !parsed.is_object()) return {};
  return parsed.as_object();
}

class SubmitForwarderTest : public ::testing::Test {
 protected:
  SubmitForwarderTest() {
    tasks::add_builtin_types(catalog_);
    add_task_routes(leader_, TaskRouteDeps{queue_, catalog_, store_, events_, client_});
  }

  // The forwarder under test, its requests answered by `answer` (the leader's routes unless
  // a test says otherwise). The first request waits for open_gate() when `gated`.
  std::shared_ptr<SubmitForwarder> make_forwarder(std::size_t max_in_flight, bool gated,
                                                  std::size_t max_batch_bytes = 256 * 1024) {
    gated_ = gated;
    return std::make_shared<SubmitForwarder>(
        [this](const core::Endpoint& to, const net::HttpRequest& request,
               store::Deadline deadline) -> asio::awaitable<net::ClientResult> {
          EXPECT_EQ(to.str(), "127.0.0.9:5235");
          auto sent = request;
          sent.deadline = deadline;
          if (sent.target == kSubmitBatchPath) {
            auto batch = decode_submit_batch(sent.body);
            batch_sizes.push_back(batch ? batch->size() : 0);
          }
          targets.push_back(sent.target);
          if (gated_ && !gate_) {
            gate_.emplace(co_await asio::this_coro::executor, SteadyClock::time_point::max());
            co_await gate_->async_wait(net::use_nothrow);
          }
          auto result = co_await answer(sent);
          co_return result;
        },
        SubmitForwarderOptions{128, max_in_flight, max_batch_bytes});
  }

  void open_gate() {
    gated_ = false;
    if (gate_) gate_->cancel();
  }

  // Runs `body` on the test's io_context to its end.
  void run(std::function<asio::awaitable<void>()> body) {
    testing::run_to_end(io_, std::move(body));
  }

  // Starts forwarding `body`; its answer lands in answers[slot].
  void spawn_forward(std::shared_ptr<SubmitForwarder> forwarder, std::string body, int slot,
                     std::chrono::milliseconds within = 5s) {
    asio::co_spawn(
        io_,
        [this, forwarder, body, slot, within]() -> asio::awaitable<void> {
          const std::string leader = "127.0.0.9:5235";
          auto answer = co_await forwarder->forward(leader, body, SteadyClock::now() + within);
          answers[slot] = std::move(answer);
        },
        asio::detached);
  }

  std::function<asio::awaitable<net::ClientResult>(net::HttpRequest&)> answer =
      [this](net::HttpRequest& request) -> asio::awaitable<net::ClientResult> {
    auto response = co_await leader_.dispatch(request);
    net::ClientResult answered{std::move(response), net::ClientErrorKind::none, ""};
    co_return answered;
  };

  asio::io_context io_;
  FakeQueue queue_;
  tasks::TaskCatalog catalog_;
  testing::MemoryStore store_;
  clocks::EventLog events_{clocks::EventLogOptions{"127.0.0.1:5235", 100}};
  net::HttpClient client_;
  net::Router leader_;
  bool gated_ = false;
  std::optional<asio::steady_timer> gate_;

  std::vector<std::size_t> batch_sizes;
  std::vector<std::string> targets;
  std::map<int, net::HttpResponse> answers;
};

// The point of the forwarder: what arrives while a batch is on its way goes in the next one,
// together, and each client still gets its own task.
TEST_F(SubmitForwarderTest, SubmissionsThatArriveWhileOneIsForwardedGoTogether) {
  auto forwarder = make_forwarder(1, true);
  run([&]() -> asio::awaitable<void> {
    spawn_forward(forwarder, kSum, 0);
    EXPECT_TRUE(co_await until([&] { return gate_.has_value(); }));
    for (int i = 1; i <= 9; ++i) spawn_forward(forwarder, kSum, i);
    // The nine wait for the sender, which the first batch holds.
    EXPECT_TRUE(co_await until([&] { return forwarder->queued() == 9; }));
    open_gate();
    EXPECT_TRUE(co_await until([&] { return answers.size() == 10; }));
  });
  EXPECT_EQ(batch_sizes, (std::vector<std::size_t>{1, 9}));
  std::set<std::string> ids;
  for (const auto& [slot, response] : answers) {
    EXPECT_EQ(response.status, 202) << slot << ": " << response.body;
    auto body = body_of(response);
    ASSERT_TRUE(body.contains("id")) << response.body;
    ids.insert(std::string(body.at("id").as_string()));
  }
  EXPECT_EQ(ids.size(), 10u);
  EXPECT_EQ(queue_.submitted, 10);
}

// One bad submission in a batch is answered alone: the others are written.
TEST_F(SubmitForwarderTest, OneBadSubmissionDoesNotSinkTheOthers) {
  const std::string unknown_type = R"({"type":"nope","params":{}})";
  const std::string bad_params = R"({"type":"sum","params":{"values":"x"}})";
  const std::string seen = with_key("seen");
  const std::string clash = with_key("clash");
  const std::vector<BatchedSubmission> batch{{kSum, 5000}, {unknown_type, 5000}, {bad_params, 5000},
                                             {seen, 5000}, {clash, 5000},        {kSum, 5000}};
  net::HttpRequest request;
  request.method = "POST";
  request.target = std::string(kSubmitBatchPath);
  request.body = encode_submit_batch(batch);
  request.deadline = SteadyClock::now() + 5s;
  net::HttpResponse response;
  run([&]() -> asio::awaitable<void> { response = co_await leader_.dispatch(request); });
  ASSERT_EQ(response.status, 200) << response.body;
  auto answers = decode_submit_answers(response.body, batch.size());
  ASSERT_TRUE(answers.has_value()) << response.body;
  std::vector<int> statuses;
  for (const auto& answer : *answers) statuses.push_back(answer.status);
  EXPECT_EQ(statuses, (std::vector<int>{202, 400, 400, 200, 409, 202}));
  EXPECT_EQ(body_of((*answers)[1]).at("field").as_string(), "type");
  EXPECT_EQ(body_of((*answers)[2]).at("field").as_string(), "params.values");
  EXPECT_TRUE(body_of((*answers)[3]).at("duplicate").as_bool());
  EXPECT_EQ(queue_.submitted, 4);
}

// Through the forwarder too: each client gets the leader's answer to its own submission.
TEST_F(SubmitForwarderTest, EachClientGetsItsOwnAnswerFromABatch) {
  auto forwarder = make_forwarder(1, true);
  run([&]() -> asio::awaitable<void> {
    spawn_forward(forwarder, kSum, 0);
    EXPECT_TRUE(co_await until([&] { return gate_.has_value(); }));
    spawn_forward(forwarder, with_key("clash"), 1);
    spawn_forward(forwarder, with_key("seen"), 2);
    spawn_forward(forwarder, kSum, 3);
    EXPECT_TRUE(co_await until([&] { return forwarder->queued() == 3; }));
    open_gate();
    EXPECT_TRUE(co_await until([&] { return answers.size() == 4; }));
  });
  EXPECT_EQ(batch_sizes, (std::vector<std::size_t>{1, 3}));
  EXPECT_EQ(answers[0].status, 202);
  EXPECT_EQ(answers[1].status, 409);
  EXPECT_EQ(answers[2].status, 200);
  EXPECT_TRUE(body_of(answers[2]).at("duplicate").as_bool());
  EXPECT_EQ(answers[3].status, 202);
}

// A batch that left but got no answer may have been applied: each of its submissions is told
// so (504, outcome unknown), not that it failed; one that never left is told to try again.
TEST_F(SubmitForwarderTest, AFailedForwardAnswersEachSubmissionWithItsOutcome) {
  auto forwarder = make_forwarder(1, true);
  answer = [](net::HttpRequest&) -> asio::awaitable<net::ClientResult> {
    net::ClientResult reset{std::nullopt, net::ClientErrorKind::io, "connection reset"};
    co_return reset;
  };
  run([&]() -> asio::awaitable<void> {
    spawn_forward(forwarder, kSum, 0);
    EXPECT_TRUE(co_await until([&] { return gate_.has_value(); }));
    for (int i = 1; i <= 3; ++i) spawn_forward(forwarder, kSum, i);
    EXPECT_TRUE(co_await until([&] { return forwarder->queued() == 3; }));
    open_gate();
    EXPECT_TRUE(co_await until([&] { return answers.size() == 4; }));
  });
  EXPECT_EQ(batch_sizes, (std::vector<std::size_t>{1, 3}));
  for (const auto& [slot, response] : answers) {
    EXPECT_EQ(response.status, 504) << slot;
    EXPECT_EQ(body_of(response).at("outcome").as_string(), "unknown") << response.body;
  }

  answers.clear();
  auto refused = make_forwarder(4, false);
  answer = [](net::HttpRequest&) -> asio::awaitable<net::ClientResult> {
    net::ClientResult refused{std::nullopt, net::ClientErrorKind::connect, "refused"};
    co_return refused;
  };
  io_.restart();
  run([&]() -> asio::awaitable<void> {
    for (int i = 0; i < 3; ++i) spawn_forward(refused, kSum, i);
    EXPECT_TRUE(co_await until([&] { return answers.size() == 3; }));
  });
  for (const auto& [slot, response] : answers) {
    EXPECT_EQ(response.status, 503) << slot;
    EXPECT_TRUE(response.header("Retry-After").has_value());
  }
}

// A submission whose time runs out while it waits for a sender is never sent, and says so.
TEST_F(SubmitForwarderTest, ASubmissionThatTimesOutBeforeItsBatchLeavesIsNotSent) {
  auto forwarder = make_forwarder(1, true);
  run([&]() -> asio::awaitable<void> {
    spawn_forward(forwarder, kSum, 0);
    EXPECT_TRUE(co_await until([&] { return gate_.has_value(); }));
    spawn_forward(forwarder, kSum, 1, 20ms);
    EXPECT_TRUE(co_await until([&] { return answers.contains(1); }));
    open_gate();
    EXPECT_TRUE(co_await until([&] { return answers.contains(0); }));
  });
  EXPECT_EQ(answers[1].status, 503);
  EXPECT_NE(body_of(answers[1]).at("error").as_string().find("not sent"), json::string::npos);
  EXPECT_EQ(answers[0].status, 202);
  EXPECT_EQ(batch_sizes, (std::vector<std::size_t>{1}));
  EXPECT_EQ(queue_.submitted, 1);
}

// Batches stay small enough for the leader's body limit: big submissions travel in more
// batches, one that is too big for a batch travels alone.
TEST_F(SubmitForwarderTest, ABatchStopsAtItsByteLimit) {
  ASSERT_EQ(kSum.size(), 40u);
  const std::string padded = std::string(120, ' ') + kSum;
  auto forwarder = make_forwarder(1, true, 100);
  run([&]() -> asio::awaitable<void> {
    spawn_forward(forwarder, kSum, 0);
    EXPECT_TRUE(co_await until([&] { return gate_.has_value(); }));
    for (int i = 1; i <= 5; ++i) spawn_forward(forwarder, i == 3 ? padded : kSum, i);
    EXPECT_TRUE(co_await until([&] { return forwarder->queued() == 5; }));
    open_gate();
    EXPECT_TRUE(co_await until([&] { return answers.size() == 6; }));
  });
  // 40 + 40 bytes fit in 100, a third does not; the 160-byte one goes alone.
  EXPECT_EQ(batch_sizes, (std::vector<std::size_t>{1, 2, 1, 2}));
  for (const auto& [slot, response] : answers) EXPECT_EQ(response.status, 202) << slot;
}

// A leader's gateway from before batches (404), or one that finds a batch too large (413),
// gets each submission as its client sent it.
TEST_F(SubmitForwarderTest, ALeaderWithoutTheBatchRouteGetsEachSubmissionAlone) {
  auto forwarder = make_forwarder(1, true);
  answer = [this](net::HttpRequest& request) -> asio::awaitable<net::ClientResult> {
    if (request.target == kSubmitBatchPath) {
      const int status = batch_sizes.size() == 1 ? 404 : 413;
      net::ClientResult unknown{net::json_error(status, "no"), net::ClientErrorKind::none, ""};
      co_return unknown;
    }
    auto response = co_await leader_.dispatch(request);
    net::ClientResult answered{std::move(response), net::ClientErrorKind::none, ""};
    co_return answered;
  };
  run([&]() -> asio::awaitable<void> {
    spawn_forward(forwarder, kSum, 0);
    EXPECT_TRUE(co_await until([&] { return gate_.has_value(); }));
    for (int i = 1; i < 6; ++i) spawn_forward(forwarder, kSum, i);
    EXPECT_TRUE(co_await until([&] { return forwarder->queued() == 5; }));
    open_gate();
    EXPECT_TRUE(co_await until([&] { return answers.size() == 6; }));
  });
  for (const auto& [slot, response] : answers) EXPECT_EQ(response.status, 202) << slot;
  EXPECT_EQ(batch_sizes, (std::vector<std::size_t>{1, 5}));  // answered 404, then 413
  EXPECT_EQ(std::count(targets.begin(), targets.end(), "/api/tasks"), 6);
  EXPECT_EQ(queue_.submitted, 6);
}

// The batch route is for the island's nodes: a client, even one that may write, cannot
// hand the leader submissions in the name of a follower (which checks the role).
TEST_F(SubmitForwarderTest, ABatchFromACallerWithoutNodeCredentialsIsRefused) {
  constexpr std::int64_t kNow = 1'700'000'000'000;
  const std::string secret(32, 's');
  observability::NoAudit audit;
  auto guard = std::make_shared<security::Guard>(
      security::GuardOptions{secret, "127.0.0.1:5235", {}}, audit,
      std::make_shared<security::RevocationList>(), [] { return kNow; });
  leader_.guard_with(guard);
  auto head = [] {
    net::HttpRequest request;
    request.method = "POST";
    request.target = std::string(kSubmitBatchPath);
    return request;
  };
  auto anonymous = head();
  EXPECT_EQ(leader_.admit(anonymous)->status, 401);

  auto client = head();
  const auto token =
      security::mint_token(security::derive_key(secret, "token"),
                           {"alice", security::Role::admin, kNow, kNow + 60'000, "id1"});
  client.headers.emplace_back("Authorization", "Bearer " + token);
  // A token, whatever its role, does not make its bearer a node: "who are you?".
  auto refused = leader_.admit(client);
  ASSERT_TRUE(refused.has_value());
  EXPECT_EQ(refused->status, 401);
  EXPECT_NE(refused->body.find("island's nodes"), std::string::npos) << refused->body;

  auto stranger = head();
  security::RequestSigner other_island(security::derive_key(std::string(32, 'o'), "request"),
                                       "127.0.0.2:5235", 1);
  stranger.headers.emplace_back(std::string(security::kAuthHeader),
                                other_island.authorization_at(stranger, "127.0.0.1:5235", kNow));
  EXPECT_EQ(leader_.admit(stranger)->status, 401);

  auto node = head();
  security::RequestSigner follower(security::derive_key(secret, "request"), "127.0.0.2:5235", 1);
  node.headers.emplace_back(std::string(security::kAuthHeader),
                            follower.authorization_at(node, "127.0.0.1:5235", kNow));
  EXPECT_FALSE(leader_.admit(node).has_value());
  // The same client may still submit on the public route (the follower's check).
  auto submit = client;
  submit.target = "/api/tasks";
  EXPECT_FALSE(leader_.admit(submit).has_value());
}

}  // namespace
}  // namespace isla::gateway
