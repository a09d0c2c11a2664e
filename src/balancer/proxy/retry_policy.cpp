#include "balancer/proxy/retry_policy.hpp"

namespace isla::balancer {

bool repeatable(const net::HttpRequest& request) {
  const auto& method = request.method;
  if (method == "GET" || method == "HEAD" || method == "PUT" || method == "DELETE" ||
      method == "OPTIONS") {
    return true;
  }
  const auto key = request.header(kIdempotencyKeyHeader);
  return key && !key->empty();
}

AttemptResult classify(const net::ClientResult& result) {
  AttemptResult out;
  if (result.response) {
    const int status = result.response->status;
    out.status = status;
    if (status == 502 || status == 503 || status == 504) {
      out.outcome = Outcome::gateway_failure;
    } else if (status >= 500) {
      out.outcome = Outcome::server_error;
    }
    return out;
  }
  out.outcome = Outcome::gateway_failure;
  out.sent = result.error != net::ClientErrorKind::connect;
  return out;
}

bool should_retry(const AttemptResult& attempt, bool repeatable_request, int attempt_index,
                  int max_retries) {
  if (attempt.outcome != Outcome::gateway_failure) return false;
  if (attempt_index >= max_retries) return false;
  return repeatable_request || !attempt.sent;
}

}  // namespace isla::balancer
