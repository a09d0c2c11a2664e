#pragma once
// Whether a request that failed on one backend is sent again to another. Pure.
//
// A request may be repeated when repeating it cannot do twice what the client asked once:
// its method is idempotent (GET, HEAD, PUT, DELETE, OPTIONS; RFC 9110, 9.2.2) or it carries
// an Idempotency-Key, with which the backend recognises the second copy. Any request may be
// repeated when the first copy never left: the connection to the backend was refused.
#include <optional>

#include "balancer/outlier_detector.hpp"
#include "net/http_client.hpp"
#include "net/http_types.hpp"

namespace isla::balancer {

inline constexpr std::string_view kIdempotencyKeyHeader = "Idempotency-Key";

bool repeatable(const net::HttpRequest& request);

// One attempt on one backend, as the outlier detector and the retry decision see it.
struct AttemptResult {
  Outcome outcome = Outcome::success;
  bool sent = true;           // false: the request never reached the backend (connect failed)
  std::optional<int> status;  // the backend's answer, if it gave one
};

AttemptResult classify(const net::ClientResult& result);

// Whether to try another backend after `attempt` (0-based) failed so: only for gateway
// failures (no answer, 502, 503, 504), at most `max_retries` times, and for a request that
// is not repeatable only when it was never sent.
bool should_retry(const AttemptResult& attempt, bool repeatable_request, int attempt_index,
                  int max_retries);

}  // namespace isla::balancer
