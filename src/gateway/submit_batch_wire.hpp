#pragma once
// The wire form of a batch of task submissions that a follower gateway forwards to the
// leader's gateway (docs/architecture.md, "Forwarded submissions"), and of the leader's
// answers to them, one per submission, in the batch's order:
//   request  {"submissions": [{"timeout_ms": N, "task": <the client's body>}, ...]}
//   answer   {"answers": [{"status": 202, "body": <what the leader would have answered>}, ...]}
// Each submission carries the time its client has left (the gateways' clocks are not
// compared); its body travels as the client sent it (the follower checked that it parses),
// so the leader checks it again against its own catalogue.
#include <boost/json.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "net/http_types.hpp"

namespace isla::gateway {

inline constexpr std::string_view kSubmitBatchPath = "/internal/tasks/submit-batch";
inline constexpr std::size_t kMaxSubmitBatch = 1024;  // submissions one request may carry

struct BatchedSubmission {
  std::string_view body;  // a JSON object: the client's submission
  std::int64_t timeout_ms = 0;
};

std::string encode_submit_batch(const std::vector<BatchedSubmission>& submissions);

struct ReceivedSubmission {
  boost::json::value task;
  std::int64_t timeout_ms = 0;
};
// nullopt for a body that is not a batch (or carries more than kMaxSubmitBatch).
std::optional<std::vector<ReceivedSubmission>> decode_submit_batch(std::string_view body);

// `answers`: JSON responses (their bodies are JSON objects).
std::string encode_submit_answers(const std::vector<net::HttpResponse>& answers);
// The answers as responses; nullopt unless the body holds exactly `expected` of them.
std::optional<std::vector<net::HttpResponse>> decode_submit_answers(std::string_view body,
                                                                    std::size_t expected);

}  // namespace isla::gateway
