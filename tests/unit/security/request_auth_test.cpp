#include "security/request_auth.hpp"

#include <gtest/gtest.h>

namespace isla::security {
namespace {

const std::string kKey(32, 'r');
constexpr std::int64_t kNow = 1'700'000'000'000;

net::HttpRequest request(std::string method, std::string target, std::string body = {}) {
  net::HttpRequest out;
  out.method = std::move(method);
  out.target = std::move(target);
  out.body = std::move(body);
  return out;
}

net::HttpRequest signed_by(const RequestSigner& signer, net::HttpRequest r,
                           std::string_view to = "127.0.0.1:5235", std::int64_t at = kNow) {
  r.headers.emplace_back(std::string(kAuthHeader), signer.authorization_at(r, to, at));
  return r;
}

TEST(RequestAuth, SignedRequestPassesOnceAndItsReplayIsRefused) {
  RequestSigner signer(kKey, "127.0.0.2:5235", 7);
  RequestVerifier verifier(kKey, "127.0.0.1:5235");
  auto sent = signed_by(signer, request("POST", "/internal/raft/messages", "batch"));
  auto first = verifier.verify_head(sent, kNow);
  EXPECT_TRUE(first.ok) << first.reason;
  EXPECT_EQ(first.node, "127.0.0.2:5235");
  EXPECT_TRUE(RequestVerifier::body_matches(sent));
  auto again = verifier.verify_head(sent, kNow);
  EXPECT_FALSE(again.ok);
  EXPECT_EQ(again.reason, "replayed");
}

TEST(RequestAuth, EveryCoveredPartIsBound) {
  RequestSigner signer(kKey, "127.0.0.2:5235", 7);
  RequestVerifier verifier(kKey, "127.0.0.1:5235");
  auto sent = signed_by(signer, request("POST", "/internal/raft/join", "{}"));
  auto other_target = sent;
  other_target.target = "/internal/raft/messages";
  EXPECT_EQ(verifier.verify_head(other_target, kNow).reason, "bad_signature");
  auto other_method = sent;
  other_method.method = "DELETE";
  EXPECT_EQ(verifier.verify_head(other_method, kNow).reason, "bad_signature");
  // A request signed for another node is no good here.
  RequestVerifier elsewhere(kKey, "127.0.0.3:5235");
  EXPECT_EQ(elsewhere.verify_head(sent, kNow).reason, "bad_signature");
  // The body is checked after the head: a swapped body fails there.
  auto other_body = sent;
  other_body.body = "{\"id\":1}";
  EXPECT_FALSE(RequestVerifier::body_matches(other_body));
}

TEST(RequestAuth, WrongKeyOrMissingOrMalformedHeaderIsRefused) {
  RequestSigner stranger(std::string(32, 'x'), "127.0.0.2:5235", 1);
  RequestVerifier verifier(kKey, "127.0.0.1:5235");
  EXPECT_EQ(verifier.verify_head(signed_by(stranger, request("GET", "/")), kNow).reason,
            "bad_signature");
  EXPECT_EQ(verifier.verify_head(request("GET", "/"), kNow).reason, "unsigned");
  auto malformed = request("GET", "/");
  malformed.headers.emplace_back(std::string(kAuthHeader), "v1 node=a seq=1");
  EXPECT_EQ(verifier.verify_head(malformed, kNow).reason, "malformed_signature");
}

TEST(RequestAuth, OldOrFutureDatedRequestsAreRefused) {
  RequestSigner signer(kKey, "127.0.0.2:5235", 7);
  RequestVerifier verifier(kKey, "127.0.0.1:5235", {.max_skew_ms = 30'000});
  auto old = signed_by(signer, request("GET", "/x"), "127.0.0.1:5235", kNow - 31'000);
  EXPECT_EQ(verifier.verify_head(old, kNow).reason, "clock_skew");
  auto future = signed_by(signer, request("GET", "/x"), "127.0.0.1:5235", kNow + 31'000);
  EXPECT_EQ(verifier.verify_head(future, kNow).reason, "clock_skew");
}

// Requests of one sender travel on several connections and arrive out of order: any order
// within the window passes, each number once; one older than the window does not.
TEST(RequestAuth, ReorderedWithinTheWindowPassesOnceOlderThanItIsRefused) {
  RequestSigner signer(kKey, "127.0.0.2:5235", 7);
  RequestVerifier verifier(kKey, "127.0.0.1:5235", {.window = 64});
  std::vector<net::HttpRequest> sent;
  for (int i = 0; i < 200; ++i) sent.push_back(signed_by(signer, request("GET", "/x")));
  EXPECT_TRUE(verifier.verify_head(sent[150], kNow).ok);
  EXPECT_TRUE(verifier.verify_head(sent[100], kNow).ok);  // 50 behind: inside the window
  EXPECT_EQ(verifier.verify_head(sent[100], kNow).reason, "replayed");
  EXPECT_EQ(verifier.verify_head(sent[10], kNow).reason, "stale_sequence");
  EXPECT_TRUE(verifier.verify_head(sent[199], kNow).ok);
  EXPECT_TRUE(verifier.verify_head(sent[151], kNow).ok);  // cleared when the window moved
}

// A restarted sender (a new incarnation) starts its numbers again; its predecessor's
// requests are refused from then on.
TEST(RequestAuth, ANewIncarnationResetsTheWindowAndRetiresTheOldOne) {
  RequestSigner before(kKey, "127.0.0.2:5235", 7);
  RequestSigner after(kKey, "127.0.0.2:5235", 8);
  RequestVerifier verifier(kKey, "127.0.0.1:5235");
  auto old_request = signed_by(before, request("GET", "/a"));
  for (int i = 0; i < 5; ++i)
    ASSERT_TRUE(verifier.verify_head(signed_by(before, request("GET", "/")), kNow).ok);
  EXPECT_TRUE(verifier.verify_head(signed_by(after, request("GET", "/")), kNow).ok);
  EXPECT_EQ(verifier.verify_head(old_request, kNow).reason, "old_incarnation");
}

// A sender restarted after its clock was set back has a lower incarnation: refused while its
// previous run may still have fresh requests about, taken as new once it cannot.
TEST(RequestAuth, ARestartWithAClockSetBackIsTakenOnceThePreviousRunIsStale) {
  RequestSigner before(kKey, "127.0.0.2:5235", 9'000);
  RequestSigner after(kKey, "127.0.0.2:5235", 5'000);
  RequestVerifier verifier(kKey, "127.0.0.1:5235", {.max_skew_ms = 30'000});
  const auto captured = signed_by(before, request("GET", "/"));
  ASSERT_TRUE(verifier.verify_head(captured, kNow).ok);
  EXPECT_EQ(verifier
                .verify_head(signed_by(after, request("GET", "/"), "127.0.0.1:5235", kNow + 1'000),
                             kNow + 1'000)
                .reason,
            "old_incarnation");
  const auto later = kNow + 61'000;
  EXPECT_TRUE(
      verifier.verify_head(signed_by(after, request("GET", "/"), "127.0.0.1:5235", later), later)
          .ok);
  // A request captured from the previous run cannot be replayed now: it is too old.
  EXPECT_EQ(verifier.verify_head(captured, later).reason, "clock_skew");
}

TEST(RequestAuth, SendersAreBoundedByForgettingTheLongestSilent) {
  RequestVerifier verifier(kKey, "127.0.0.1:5235", {.max_senders = 4});
  for (int i = 0; i < 20; ++i) {
    RequestSigner signer(kKey, "127.0.0.9:" + std::to_string(1000 + i), 1);
    EXPECT_TRUE(verifier.verify_head(signed_by(signer, request("GET", "/")), kNow + i).ok);
  }
}

TEST(RequestAuth, HeaderParserRefusesDuplicatesAndUnknownFields) {
  const std::string sig(64, 'a');
  const std::string good = "v1 node=n inc=1 seq=1 ts=1 body=" + sig + " sig=" + sig;
  EXPECT_TRUE(parse_auth_header(good));
  EXPECT_FALSE(parse_auth_header(good + " seq=2"));
  EXPECT_FALSE(parse_auth_header(good + " x=1"));
  EXPECT_FALSE(parse_auth_header("v2" + good.substr(2)));
  EXPECT_FALSE(parse_auth_header("v1 node=n inc=-1 seq=1 ts=1 body=" + sig + " sig=" + sig));
}

}  // namespace
}  // namespace isla::security
