#include "security/forwarded_auth.hpp"

#include <gtest/gtest.h>

namespace isla::security {
namespace {

constexpr std::int64_t kNow = 1'700'000'000'000;

net::HttpRequest forwarded(std::string xff = "10.0.0.7") {
  net::HttpRequest request;
  request.method = "GET";
  request.target = "/api/figures";
  request.headers = {{"X-Forwarded-For", std::move(xff)}, {"X-Forwarded-Proto", "http"}};
  return request;
}

net::HttpRequest signed_request(const ForwardedSigner& signer, std::string xff = "10.0.0.7",
                                std::string destination = "127.0.0.2:5235",
                                std::int64_t at = kNow) {
  auto request = forwarded(std::move(xff));
  request.headers.emplace_back(kForwardedAuthHeader, signer.sign(request, destination, at));
  return request;
}

TEST(ForwardedAuthTest, AGoodSignatureNamesTheClientTheBalancerAdded) {
  ForwardedSigner signer("island-secret");
  ForwardedVerifier verifier("island-secret", "127.0.0.2:5235");
  EXPECT_EQ(verifier.trusted_client(signed_request(signer), kNow), "10.0.0.7");
  // What a client claimed before the balancer is kept in the list, not believed.
  EXPECT_EQ(verifier.trusted_client(signed_request(signer, "6.6.6.6, 10.0.0.7"), kNow), "10.0.0.7");
}

TEST(ForwardedAuthTest, AnythingElseIsNotBelieved) {
  ForwardedSigner signer("island-secret");
  ForwardedVerifier verifier("island-secret", "127.0.0.2:5235");
  // No signature: a client writing X-Forwarded-For itself.
  EXPECT_FALSE(verifier.trusted_client(forwarded("6.6.6.6"), kNow));
  // Signed with another secret.
  EXPECT_FALSE(verifier.trusted_client(signed_request(ForwardedSigner("other")), kNow));
  // Signed for another gateway.
  EXPECT_FALSE(verifier.trusted_client(signed_request(signer, "10.0.0.7", "127.0.0.3:5235"), kNow));
  // Stale, or from the future.
  EXPECT_FALSE(verifier.trusted_client(signed_request(signer), kNow + 31'000));
  EXPECT_FALSE(verifier.trusted_client(signed_request(signer), kNow - 31'000));
  // The list changed after signing.
  auto changed = signed_request(signer);
  changed.headers[0].second = "6.6.6.6";
  EXPECT_FALSE(verifier.trusted_client(changed, kNow));
  // Another target with the same signature.
  auto moved = signed_request(signer);
  moved.target = "/api/kv/x";
  EXPECT_FALSE(verifier.trusted_client(moved, kNow));
  // Garbage in the header.
  for (const auto* value :
       {"", "v1", "v1 ts=", "v1 ts=x sig=00", "v2 ts=1 sig=00", "v1 ts=1700000000000 sig="}) {
    auto request = forwarded();
    request.headers.emplace_back(kForwardedAuthHeader, value);
    EXPECT_FALSE(verifier.trusted_client(request, kNow)) << value;
  }
}

TEST(ForwardedAuthTest, AWildcardListenerChecksTheHostHeader) {
  ForwardedSigner signer("island-secret");
  ForwardedVerifier verifier("island-secret", "");
  auto request = signed_request(signer);
  request.headers.emplace_back("Host", "127.0.0.2:5235");
  EXPECT_EQ(verifier.trusted_client(request, kNow), "10.0.0.7");
}

}  // namespace
}  // namespace isla::security
