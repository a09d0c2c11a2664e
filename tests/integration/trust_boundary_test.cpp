// The trust boundary against what an attacker on the same network tried (issue 10's table):
// three real gateways sharing an island secret, and requests no node of theirs would send.
#include <gtest/gtest.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <future>

#include "consensus/codec.hpp"
#include "security/guard.hpp"
#include "security/island_secret.hpp"
#include "security/request_auth.hpp"
#include "security/token.hpp"
#include "support/island.hpp"
#include "support/raw_http.hpp"
#include "support/run_command.hpp"
#include "support/store_cluster.hpp"

namespace isla::testing {
namespace {

namespace json = boost::json;
using std::chrono::milliseconds;
using std::chrono::seconds;

std::filesystem::path make_secret() {
  const auto path = std::filesystem::temp_directory_path() /
                    ("isla-trust-" + std::to_string(::getpid()) + "-" +
                     std::to_string(std::chrono::steady_clock::now().time_since_epoch().count())) /
                    "secret";
  security::create_secret_file(path);
  return path;
}

class TrustBoundary : public ::testing::Test {
 protected:
  TrustBoundary()
      : secret_path_(make_secret()),
        secret_(security::load_secret_file(secret_path_)),
        cluster_(3, 0, {"--secret-file", secret_path_.string()}) {}
  ~TrustBoundary() override { std::filesystem::remove_all(secret_path_.parent_path()); }

  void SetUp() override {
    cluster_.start_all();
    leader_ = cluster_.wait_for_leader(seconds(10));
    ASSERT_TRUE(leader_) << "no store leader";
  }

  std::string token(security::Role role, const std::string& id = "t1") const {
    const auto now = security::wall_clock_ms();
    return security::mint_token(security::derive_key(secret_, "token"),
                                {"tester", role, now, now + 600'000, id});
  }

  net::ClientResult call(int node, std::string method, std::string target, std::string body,
                         const std::string& bearer = {}) const {
    net::HttpRequest request;
    request.method = std::move(method);
    request.target = std::move(target);
    request.body = std::move(body);
    if (!bearer.empty()) request.headers.emplace_back("Authorization", "Bearer " + bearer);
    return net::fetch(cluster_.address(node), request, seconds(5));
  }
  int status(int node, std::string method, std::string target, std::string body = {},
             const std::string& bearer = {}) const {
    auto result = call(node, std::move(method), std::move(target), std::move(body), bearer);
    return result.ok() ? result.response->status : 0;
  }
  double auth_failures(int node, const std::string& reason) const {
    auto metrics = call(node, "GET", "/metrics", "");
    if (!metrics.ok()) return -1;
    const std::string series = "isla_auth_failures_total{reason=\"" + reason + "\"} ";
    const auto at = metrics.response->body.find(series);
    return at == std::string::npos ? 0
                                   : std::stod(metrics.response->body.substr(at + series.size()));
  }
  std::int64_t term(int node) const {
    const auto store = cluster_.store_status(node);
    return store.is_object() ? store.at("term").to_number<std::int64_t>() : -1;
  }
  std::uint64_t node_id(int node) const {
    return cluster_.store_status(node).at("id").to_number<std::uint64_t>();
  }

  std::filesystem::path secret_path_;
  std::string secret_;
  StoreCluster cluster_;
  std::optional<int> leader_;
};

// Row 1: one POST of a made-up snapshot aborted a gateway. Row 10: 8 x 63 MB bodies were
// taken in before any check. Now the head alone is refused, the body never read.
TEST_F(TrustBoundary, UnsignedRaftMessagesAreRefusedBeforeTheirBody) {
  EXPECT_EQ(status(0, "POST", "/internal/raft/messages", "made-up snapshot data"), 401);
  std::vector<std::future<int>> floods;
  for (int i = 0; i < 8; ++i) {
    floods.push_back(std::async(std::launch::async, [this] {
      // Only the head is sent: the answer must come without the 6 MB behind it.
      RawConnection connection(cluster_.address(1),
                               "POST /internal/raft/messages HTTP/1.1\r\nHost: x\r\n"
                               "Content-Length: 6000000\r\n\r\n");
      return status_of(connection.read_to_end(milliseconds(5000)));
    }));
  }
  for (auto& flood : floods) EXPECT_EQ(flood.get(), 401);
  EXPECT_GE(auth_failures(1, "unsigned"), 8);
  // Larger than any Raft batch the route takes: refused by its size, also before the body.
  RawConnection huge(cluster_.address(1),
                     "POST /internal/raft/messages HTTP/1.1\r\nHost: x\r\n"
                     "Content-Length: 66060288\r\n\r\n");
  EXPECT_EQ(status_of(huge.read_to_end(milliseconds(5000))), 413);
  EXPECT_EQ(status(0, "PUT", "/api/kv/alive", R"({"value":"yes"})", token(security::Role::write)),
            200);
}

// Rows 2 and 3: a forged append and a flood of forged timeout_now moved leadership and lost
// writes. Signed with another island's secret, they are refused; the leader stays.
TEST_F(TrustBoundary, ForgedRaftMessagesNeitherMoveTheLeaderNorChangeTheLog) {
  const int follower = (*leader_ + 1) % 3;
  const auto before = term(*leader_);
  security::RequestSigner stranger(security::derive_key(std::string(32, 'x'), "request"),
                                   cluster_.address(*leader_).str(), 1);
  consensus::Message timeout_now;
  timeout_now.type = consensus::MessageType::timeout_now;
  timeout_now.from = node_id(*leader_);
  timeout_now.to = node_id(follower);
  timeout_now.term = static_cast<consensus::Term>(before);
  consensus::Message append;
  append.type = consensus::MessageType::append;
  append.from = timeout_now.from;
  append.to = timeout_now.to;
  append.term = timeout_now.term + 5;
  const auto body = consensus::encode_message_batch({timeout_now, append});
  for (int i = 0; i < 225; ++i) {
    net::HttpRequest forged;
    forged.method = "POST";
    forged.target = "/internal/raft/messages";
    forged.body = body;
    forged.headers.emplace_back("Isla-Auth",
                                stranger.authorization(forged, cluster_.address(follower).str()));
    auto result = net::fetch(cluster_.address(follower), forged, seconds(5));
    ASSERT_TRUE(result.ok());
    ASSERT_EQ(result.response->status, 401);
  }
  EXPECT_GE(auth_failures(follower, "bad_signature"), 225);
  EXPECT_EQ(term(*leader_), before);
  EXPECT_EQ(cluster_.wait_for_leader(seconds(5)), leader_);
  EXPECT_EQ(status(follower, "PUT", "/api/kv/k", R"({"value":"v"})", token(security::Role::write)),
            200);
  EXPECT_TRUE(cluster_.wait_converged(seconds(10)));
}

// kill -9 at any moment: a restarted gateway signs with a new incarnation, which its peers
// take at once (its previous run's sequence numbers are no use to it); the store goes on.
TEST_F(TrustBoundary, AGatewayKilledAndRestartedIsHeardByItsPeersAgain) {
  const auto writer = token(security::Role::write);
  const int killed = *leader_;
  cluster_.kill(killed);
  const auto next = cluster_.wait_for_leader(seconds(10));
  ASSERT_TRUE(next);
  ASSERT_NE(*next, killed);
  EXPECT_TRUE(eventually(
      [&] { return status(*next, "PUT", "/api/kv/after-kill", R"({"value":"1"})", writer) == 200; },
      seconds(10)));
  cluster_.start(killed);
  // Converging needs the restarted node's signed Raft messages accepted, and its peers'.
  EXPECT_TRUE(cluster_.wait_converged(seconds(15)));
  EXPECT_TRUE(eventually(
      [&] { return status(killed, "GET", "/api/kv/after-kill", "", writer) == 200; }, seconds(10)));
}

// Row 4: a join naming any address made a permanent learner that received the whole store.
TEST_F(TrustBoundary, AnUnsignedJoinAddsNoLearner) {
  EXPECT_EQ(status(*leader_, "POST", "/internal/raft/join",
                   R"({"id":424242,"address":"127.0.0.99:5235"})"),
            401);
  const auto store = cluster_.store_status(*leader_);
  EXPECT_TRUE(store.at("learners").as_array().empty());
  EXPECT_EQ(store.at("voters").as_array().size(), 3u);
}

// Row 5: a delete of every key, without credentials, wiped the store. Now it needs a token,
// and with one it still may not take the deny list with it.
TEST_F(TrustBoundary, DeletingEveryKeyNeedsCredentialsAndSparesTheDenyList) {
  const auto writer = token(security::Role::write);
  ASSERT_EQ(status(0, "PUT", "/api/kv/keep", R"({"value":"1"})", writer), 200);
  const std::string wipe = R"({"success":[{"op":"delete_range","prefix":""}]})";
  EXPECT_EQ(status(1, "POST", "/api/kv/txn", wipe), 401);
  EXPECT_EQ(status(1, "POST", "/api/kv/txn", wipe, token(security::Role::read)), 403);
  EXPECT_EQ(status(1, "POST", "/api/kv/txn", wipe, writer), 403);
  EXPECT_EQ(status(2, "PUT", "/api/kv/_isla/revoked/x", R"({"value":"1"})", writer), 403);
  // Nor may it promise a learner a vote: adding members is an admin's.
  EXPECT_EQ(status(2, "PUT", "/api/kv/_isla/store/promote/1", R"({"value":"127.0.0.1:1"})", writer),
            403);
  EXPECT_EQ(status(2, "GET", "/api/kv/keep"), 401);  // reads need a token too
  EXPECT_EQ(status(2, "GET", "/api/kv/keep", "", token(security::Role::read)), 200);
  // What stays open: figures, status, metrics, health.
  for (const char* open : {"/api/status", "/metrics", "/healthz", "/api/figures"}) {
    EXPECT_EQ(status(2, "GET", open), 200) << open;
  }
}

// A correctly signed request captured on the wire and sent again is refused.
TEST_F(TrustBoundary, AReplayedSignedRequestIsRefused) {
  security::RequestSigner node(security::derive_key(secret_, "request"), "127.0.0.250:5235",
                               static_cast<std::uint64_t>(security::wall_clock_ms()));
  net::HttpRequest request;
  request.target = "/api/kv/absent";
  request.headers.emplace_back("Isla-Auth", node.authorization(request, cluster_.address(0).str()));
  auto first = net::fetch(cluster_.address(0), request, seconds(5));
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(first.response->status, 404);  // admitted: the key is just not there
  auto replay = net::fetch(cluster_.address(0), request, seconds(5));
  ASSERT_TRUE(replay.ok());
  EXPECT_EQ(replay.response->status, 401);
  EXPECT_GE(auth_failures(0, "replayed"), 1);
}

// A token revoked through one gateway is refused by every gateway.
TEST_F(TrustBoundary, ARevokedTokenIsRefusedIslandWide) {
  const auto reader = token(security::Role::read, "to-revoke");
  ASSERT_EQ(status(2, "GET", "/api/kv?prefix=", "", reader), 200);
  EXPECT_EQ(status(0, "POST", "/api/tokens/revoke",
                   json::serialize(json::object{{"token", reader}}), reader),
            403);
  ASSERT_EQ(status(0, "POST", "/api/tokens/revoke",
                   json::serialize(json::object{{"token", reader}}), token(security::Role::admin)),
            200);
  for (int node = 0; node < 3; ++node) {
    EXPECT_TRUE(eventually(
        [&] { return status(node, "GET", "/api/kv?prefix=", "", reader) == 401; }, seconds(10)))
        << "node " << node << " still accepts the revoked token";
  }
  const auto audit = read_file(cluster_.data_dir(0) / "audit.log");
  EXPECT_NE(audit.find("\"token_revoke\""), std::string::npos) << audit;
  EXPECT_NE(audit.find("\"admin_request\""), std::string::npos) << audit;
  EXPECT_NE(audit.find("\"forbidden\""), std::string::npos) << audit;
}

// Watch streams are capped per gateway: the next one is told to go elsewhere, and a place
// freed by a watcher that leaves is taken again.
TEST(Limits, WatchStreamsPerGatewayAreCapped) {
  StoreCluster cluster(1, 0, {"--store-max-watchers", "2"});
  cluster.start_all();
  ASSERT_TRUE(cluster.wait_for_leader(seconds(10)));
  const std::string watch = "GET /api/kv/watch?prefix=w HTTP/1.1\r\nHost: x\r\n\r\n";
  auto first = std::make_unique<RawConnection>(cluster.address(0), watch);
  RawConnection second(cluster.address(0), watch);
  EXPECT_NE(first->read_until("\r\n\r\n", seconds(5)).find(" 200 "), std::string::npos);
  EXPECT_NE(second.read_until("\r\n\r\n", seconds(5)).find(" 200 "), std::string::npos);
  RawConnection third(cluster.address(0), watch);
  const auto refused = third.read_to_end(seconds(5));
  EXPECT_EQ(status_of(refused), 503) << refused;
  EXPECT_NE(refused.find("Retry-After"), std::string::npos);
  first.reset();  // a watcher leaves: its place is free once the server sees it gone
  EXPECT_TRUE(eventually(
      [&] {
        // Each try's watch takes the place if it gets it: close it at once.
        RawConnection next(cluster.address(0), watch);
        return next.read_until("\r\n\r\n", seconds(2)).find(" 200 ") != std::string::npos;
      },
      seconds(20)));
}

TEST(NodeSecurity, SecretInitAndTokenCreateFromTheCommandLine) {
  const auto dir =
      std::filesystem::temp_directory_path() / ("isla-cli-secret-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  const auto secret = (dir / "secret").string();
  ASSERT_EQ(run_isla({"secret", "init", "--out", secret}).exit_code, 0);
  EXPECT_EQ(std::filesystem::status(secret).permissions() & std::filesystem::perms::all,
            std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  const auto again = run_isla({"secret", "init", "--out", secret});
  EXPECT_EQ(again.exit_code, 2);
  EXPECT_NE(again.output.find("never overwritten"), std::string::npos) << again.output;

  const auto created =
      run_isla({"token", "create", "--role", "write", "--ttl", "15m", "--secret-file", secret});
  ASSERT_EQ(created.exit_code, 0) << created.output;
  const auto text = created.output.substr(0, created.output.find('\n'));
  const auto checked =
      security::verify_token(security::derive_key(security::load_secret_file(secret), "token"),
                             text, security::wall_clock_ms());
  ASSERT_TRUE(std::holds_alternative<security::Claims>(checked)) << created.output;
  const auto& claims = std::get<security::Claims>(checked);
  EXPECT_EQ(claims.role, security::Role::write);
  EXPECT_NEAR(static_cast<double>(claims.expires_ms - claims.issued_ms), 15 * 60'000.0, 1.0);

  for (const auto& bad : {std::vector<std::string>{"--role", "write", "--ttl", "400d"},
                          std::vector<std::string>{"--role", "write", "--ttl", "-5m"},
                          std::vector<std::string>{"--role", "root"}}) {
    auto args = std::vector<std::string>{"token", "create", "--secret-file", secret};
    args.insert(args.end(), bad.begin(), bad.end());
    EXPECT_EQ(run_isla(args).exit_code, 2) << bad.back();
  }
  std::filesystem::remove_all(dir);
}

TEST(NodeSecurity, ANonLoopbackListenerWithoutASecretRefusesToStart) {
  auto result = run_isla(
      {"gateway", "--listen", "0.0.0.0:59999", "--data-dir",
       (std::filesystem::temp_directory_path() / ("isla-insecure-" + std::to_string(::getpid())))
           .string()});
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_NE(result.output.find("without an island secret"), std::string::npos) << result.output;
  EXPECT_NE(result.output.find("--insecure"), std::string::npos) << result.output;
}

TEST(NodeSecurity, AGroupReadableSecretFileIsRefused) {
  const auto path = make_secret();
  std::filesystem::permissions(path, std::filesystem::perms::others_read,
                               std::filesystem::perm_options::add);
  auto result = run_isla({"gateway", "--listen", "127.0.0.1:59998", "--secret-file", path.string(),
                          "--data-dir", path.parent_path().string()});
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_NE(result.output.find("chmod 600"), std::string::npos) << result.output;
  std::filesystem::remove_all(path.parent_path());
}

}  // namespace
}  // namespace isla::testing
