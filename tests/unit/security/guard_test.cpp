#include "security/guard.hpp"

#include <gtest/gtest.h>

#include <unistd.h>

#include "security/crypto.hpp"
#include "security/island_secret.hpp"

namespace isla::security {
namespace {

using net::Access;
constexpr std::int64_t kNow = 1'700'000'000'000;
const std::string kSecret(32, 's');

class RecordingAudit final : public observability::AuditSink {
 public:
  void record(std::string_view event, boost::json::object fields) override {
    events.emplace_back(std::string(event), std::move(fields));
  }
  std::vector<std::pair<std::string, boost::json::object>> events;
};

class GuardTest : public ::testing::Test {
 protected:
  RecordingAudit audit_;
  std::shared_ptr<RevocationList> revoked_ = std::make_shared<RevocationList>();
  Guard guard_{GuardOptions{kSecret, "127.0.0.1:5235", {}}, audit_, revoked_, [] { return kNow; }};

  std::string token(Role role, std::string id = "id1") {
    return mint_token(derive_key(kSecret, "token"), {"alice", role, kNow, kNow + 60'000, id});
  }
  static net::HttpRequest with_bearer(const std::string& token) {
    net::HttpRequest head;
    head.method = "PUT";
    head.target = "/api/kv/a";
    head.headers.emplace_back("Authorization", "Bearer " + token);
    return head;
  }
  std::optional<int> refusal(net::HttpRequest head, Access access) {
    auto answer = guard_.admit(head, access);
    if (!answer) return std::nullopt;
    return answer->status;
  }
};

TEST_F(GuardTest, AnonymousCallersReachOnlyOpenRoutes) {
  EXPECT_EQ(refusal({}, Access::anyone), std::nullopt);
  EXPECT_EQ(refusal({}, Access::read), 401);
  EXPECT_EQ(refusal({}, Access::write), 401);
  EXPECT_EQ(refusal({}, Access::node), 401);
}

TEST_F(GuardTest, ARoleReachesItsLevelAndBelowAndIsForbiddenAbove) {
  EXPECT_EQ(refusal(with_bearer(token(Role::read)), Access::read), std::nullopt);
  EXPECT_EQ(refusal(with_bearer(token(Role::read)), Access::write), 403);
  EXPECT_EQ(refusal(with_bearer(token(Role::write)), Access::write), std::nullopt);
  EXPECT_EQ(refusal(with_bearer(token(Role::write)), Access::admin), 403);
  EXPECT_EQ(refusal(with_bearer(token(Role::admin)), Access::admin), std::nullopt);
  // No token, however mighty, passes for a node.
  EXPECT_EQ(refusal(with_bearer(token(Role::admin)), Access::node), 401);
}

TEST_F(GuardTest, AdminRequestsAreAuditedAsTheyAreLetIn) {
  EXPECT_FALSE(refusal(with_bearer(token(Role::admin)), Access::admin));
  EXPECT_FALSE(refusal(with_bearer(token(Role::admin)), Access::write));
  ASSERT_EQ(audit_.events.size(), 1u);
  EXPECT_EQ(audit_.events[0].first, "admin_request");
  EXPECT_EQ(audit_.events[0].second.at("subject").as_string(), "alice");
}

TEST_F(GuardTest, TheAdmittedPrincipalIsKeptOnTheHead) {
  auto head = with_bearer(token(Role::write));
  ASSERT_FALSE(guard_.admit(head, Access::write));
  EXPECT_EQ(head.principal, "token:alice/write");
}

TEST_F(GuardTest, RevokedForgedAndExpiredTokensAreRefusedAndAudited) {
  revoked_->add("gone", kNow + 60'000);
  EXPECT_EQ(refusal(with_bearer(token(Role::admin, "gone")), Access::read), 401);
  const auto other_island = mint_token(derive_key(std::string(32, 'o'), "token"),
                                       {"eve", Role::admin, kNow, kNow + 60'000, "x"});
  EXPECT_EQ(refusal(with_bearer(other_island), Access::read), 401);
  const auto expired =
      mint_token(derive_key(kSecret, "token"), {"bob", Role::admin, kNow - 10, kNow - 1, "y"});
  EXPECT_EQ(refusal(with_bearer(expired), Access::read), 401);
  ASSERT_EQ(audit_.events.size(), 3u);
  EXPECT_EQ(audit_.events[0].first, "auth_failed");
  EXPECT_EQ(audit_.events[0].second.at("reason").as_string(), "revoked_token");
  EXPECT_EQ(audit_.events[1].second.at("reason").as_string(), "bad_token");
}

// A bad signature is refused even on an open route: it is never taken for anonymous.
TEST_F(GuardTest, SignedRequestsPassEverywhereAndABadSignatureNowhere) {
  RequestSigner node(derive_key(kSecret, "request"), "127.0.0.2:5235", 1);
  net::HttpRequest head;
  head.method = "POST";
  head.target = "/internal/raft/messages";
  head.headers.emplace_back(std::string(kAuthHeader),
                            node.authorization_at(head, "127.0.0.1:5235", kNow));
  auto admitted = head;
  EXPECT_FALSE(guard_.admit(admitted, Access::node));
  EXPECT_EQ(admitted.principal, "node:127.0.0.2:5235");
  // The body arrives after the head: it must be the one signed (an empty one here).
  EXPECT_FALSE(guard_.check_body(admitted));
  admitted.body = "forged";
  EXPECT_EQ(guard_.check_body(admitted)->status, 401);

  RequestSigner stranger(derive_key(std::string(32, 'o'), "request"), "127.0.0.2:5235", 1);
  net::HttpRequest forged = head;
  forged.headers.clear();
  forged.headers.emplace_back(std::string(kAuthHeader),
                              stranger.authorization_at(forged, "127.0.0.1:5235", kNow));
  EXPECT_EQ(refusal(forged, Access::anyone), 401);
}

TEST(GuardOpen, WithoutASecretEverythingIsOpen) {
  observability::NoAudit audit;
  Guard guard(GuardOptions{}, audit, nullptr);
  net::HttpRequest head;
  EXPECT_FALSE(guard.admit(head, Access::node));
  EXPECT_FALSE(guard.admit(head, Access::admin));
}

TEST(IslandSecret, CreatedPrivateLoadedAndNeverOverwritten) {
  const auto dir =
      std::filesystem::temp_directory_path() / ("isla-secret-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  const auto path = dir / "secret";
  create_secret_file(path);
  const auto secret = load_secret_file(path);
  EXPECT_EQ(secret.size(), kSecretBytes);
  EXPECT_THROW(create_secret_file(path), std::runtime_error);
  EXPECT_EQ(load_secret_file(path), secret);
  std::filesystem::permissions(path, std::filesystem::perms::group_read,
                               std::filesystem::perm_options::add);
  try {
    load_secret_file(path);
    ADD_FAILURE() << "a group-readable secret was accepted";
  } catch (const std::runtime_error& error) {
    EXPECT_NE(std::string(error.what()).find("chmod 600"), std::string::npos);
    EXPECT_EQ(std::string(error.what()).find(to_hex(secret)), std::string::npos);
  }
  std::filesystem::remove_all(dir);
}

// A Kubernetes Secret volume for a non-root pod: mode 0440, the pod's fsGroup may read it.
// Accepted only when asked for, and never once the group may write or others may read.
TEST(IslandSecret, GroupReadableOnlyWhenAllowedAndNeverGroupWritable) {
  using std::filesystem::perms;
  const auto dir =
      std::filesystem::temp_directory_path() / ("isla-secret-k8s-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  const auto path = dir / "secret";
  create_secret_file(path);
  const auto secret = load_secret_file(path);
  std::filesystem::permissions(path, perms::owner_read | perms::group_read);
  EXPECT_THROW(load_secret_file(path), std::runtime_error);
  EXPECT_EQ(load_secret_file(path, true), secret);
  std::filesystem::permissions(path, perms::owner_read | perms::group_read | perms::group_write);
  EXPECT_THROW(load_secret_file(path, true), std::runtime_error);
  std::filesystem::permissions(path, perms::owner_read | perms::group_read | perms::others_read);
  EXPECT_THROW(load_secret_file(path, true), std::runtime_error);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace isla::security
