#include "balancer/proxy/retry_policy.hpp"

#include <gtest/gtest.h>

namespace isla::balancer {
namespace {

net::HttpRequest request(std::string method, net::Headers headers = {}) {
  net::HttpRequest out;
  out.method = std::move(method);
  out.headers = std::move(headers);
  return out;
}

net::ClientResult answered(int status) {
  net::ClientResult out;
  out.response = net::HttpResponse{};
  out.response->status = status;
  return out;
}

net::ClientResult failed(net::ClientErrorKind kind) {
  net::ClientResult out;
  out.error = kind;
  out.message = "x";
  return out;
}

TEST(RetryPolicyTest, IdempotentMethodsAndKeyedRequestsAreRepeatable) {
  for (const auto* method : {"GET", "HEAD", "PUT", "DELETE", "OPTIONS"}) {
    EXPECT_TRUE(repeatable(request(method))) << method;
  }
  EXPECT_FALSE(repeatable(request("POST")));
  EXPECT_FALSE(repeatable(request("PATCH")));
  EXPECT_TRUE(repeatable(request("POST", {{"idempotency-key", "k1"}})));
  EXPECT_FALSE(repeatable(request("POST", {{"Idempotency-Key", ""}})));
}

TEST(RetryPolicyTest, ClassifiesAnswersAndFailures) {
  EXPECT_EQ(classify(answered(200)).outcome, Outcome::success);
  EXPECT_EQ(classify(answered(404)).outcome, Outcome::success);
  EXPECT_EQ(classify(answered(500)).outcome, Outcome::server_error);
  for (int status : {502, 503, 504}) {
    EXPECT_EQ(classify(answered(status)).outcome, Outcome::gateway_failure) << status;
    EXPECT_TRUE(classify(answered(status)).sent);
  }
  const auto refused = classify(failed(net::ClientErrorKind::connect));
  EXPECT_EQ(refused.outcome, Outcome::gateway_failure);
  EXPECT_FALSE(refused.sent);
  for (auto kind :
       {net::ClientErrorKind::io, net::ClientErrorKind::timeout, net::ClientErrorKind::protocol}) {
    const auto result = classify(failed(kind));
    EXPECT_EQ(result.outcome, Outcome::gateway_failure);
    EXPECT_TRUE(result.sent);
    EXPECT_FALSE(result.status);
  }
}

TEST(RetryPolicyTest, RetriesGatewayFailuresOfRepeatableRequestsUpToTheLimit) {
  const auto reset = classify(failed(net::ClientErrorKind::io));
  EXPECT_TRUE(should_retry(reset, true, 0, 2));
  EXPECT_TRUE(should_retry(reset, true, 1, 2));
  EXPECT_FALSE(should_retry(reset, true, 2, 2));
  EXPECT_FALSE(should_retry(reset, true, 0, 0));
  EXPECT_TRUE(should_retry(classify(answered(503)), true, 0, 2));
  EXPECT_FALSE(should_retry(classify(answered(500)), true, 0, 2));
  EXPECT_FALSE(should_retry(classify(answered(200)), true, 0, 2));
}

TEST(RetryPolicyTest, NeverRepeatsAPostThatWasSentButRetriesOneThatNeverLeft) {
  EXPECT_FALSE(should_retry(classify(failed(net::ClientErrorKind::io)), false, 0, 2));
  EXPECT_FALSE(should_retry(classify(failed(net::ClientErrorKind::timeout)), false, 0, 2));
  EXPECT_FALSE(should_retry(classify(answered(503)), false, 0, 2));
  EXPECT_TRUE(should_retry(classify(failed(net::ClientErrorKind::connect)), false, 0, 2));
}

}  // namespace
}  // namespace isla::balancer
