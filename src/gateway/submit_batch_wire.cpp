#include "gateway/submit_batch_wire.hpp"

#include <algorithm>
#include <limits>

namespace isla::gateway {

namespace json = boost::json;

namespace {

constexpr std::string_view kRetryAfter = "Retry-After";

std::optional<std::int64_t> integer_of(const json::object& object, std::string_view key) {
  const auto* value = object.if_contains(key);
  if (value == nullptr) return std::nullopt;
  if (value->is_int64()) return value->as_int64();
  if (value->is_uint64() &&
      value->as_uint64() <= static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
    return static_cast<std::int64_t>(value->as_uint64());
  }
  return std::nullopt;
}

}  // namespace

// Written by hand: each body is spliced in as it came, not parsed and serialised again.
std::string encode_submit_batch(const std::vector<BatchedSubmission>& submissions) {
  std::size_t size = 20;
  for (const auto& submission : submissions) size += submission.body.size() + 40;
  std::string out;
  out.reserve(size);
  out += "{\"submissions\":[";
  for (std::size_t i = 0; i < submissions.size(); ++i) {
    if (i > 0) out += ',';
    out += "{\"timeout_ms\":";
    out += std::to_string(std::max<std::int64_t>(submissions[i].timeout_ms, 0));
    out += ",\"task\":";
    out += submissions[i].body;
    out += '}';
  }
  out += "]}";
  return out;
}

std::optional<std::vector<ReceivedSubmission>> decode_submit_batch(std::string_view body) {
  json::error_code ec;
  auto parsed = json::parse(body, ec);
  if (ec || !parsed.is_object()) return std::nullopt;
  auto* list = parsed.as_object().if_contains("submissions");
  if (list == nullptr || !list->is_array() || list->as_array().size() > kMaxSubmitBatch) {
    return std::nullopt;
  }
  std::vector<ReceivedSubmission> submissions;
  submissions.reserve(list->as_array().size());
  for (auto& item : list->as_array()) {
    if (!item.is_object()) return std::nullopt;
    auto& object = item.as_object();
    auto timeout = integer_of(object, "timeout_ms");
    auto* task = object.if_contains("task");
    if (!timeout || *timeout < 0 || task == nullptr) return std::nullopt;
    submissions.push_back({std::move(*task), *timeout});
  }
  return submissions;
}

std::string encode_submit_answers(const std::vector<net::HttpResponse>& answers) {
  std::size_t size = 16;
  for (const auto& answer : answers) size += answer.body.size() + 40;
  std::string out;
  out.reserve(size);
  out += "{\"answers\":[";
  for (std::size_t i = 0; i < answers.size(); ++i) {
    if (i > 0) out += ',';
    out += "{\"status\":";
    out += std::to_string(answers[i].status);
    for (const auto& [name, value] : answers[i].headers) {
      if (net::same_header_name(name, kRetryAfter))
        out += ",\"retry_after\":" + json::serialize(json::string(value));
    }
    out += ",\"body\":";
    out += answers[i].body.empty() ? std::string_view("{}") : std::string_view(answers[i].body);
    out += '}';
  }
  out += "]}";
  return out;
}

std::optional<std::vector<net::HttpResponse>> decode_submit_answers(std::string_view body,
                                                                    std::size_t expected) {
  json::error_code ec;
  auto parsed = json::parse(body, ec);
  if (ec || !parsed.is_object()) return std::nullopt;
  const auto* list = parsed.as_object().if_contains("answers");
  if (list == nullptr || !list->is_array() || list->as_array().size() != expected) {
    return std::nullopt;
  }
  std::vector<net::HttpResponse> answers;
  answers.reserve(expected);
  for (const auto& item : list->as_array()) {
    if (!item.is_object()) return std::nullopt;
    const auto& object = item.as_object();
    auto status = integer_of(object, "status");
    const auto* answer_body = object.if_contains("body");
    if (!status || *status < 100 || *status > 599 || answer_body == nullptr) return std::nullopt;
    auto answer = net::json_response(static_cast<int>(*status), json::serialize(*answer_body));
    if (const auto* retry = object.if_contains("retry_after"); retry && retry->is_string()) {
      answer.headers.emplace_back(std::string(kRetryAfter), std::string(retry->as_string()));
    }
    answers.push_back(std::move(answer));
  }
  return answers;
}

}  // namespace isla::gateway
