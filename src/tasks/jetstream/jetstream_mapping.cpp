#include "tasks/jetstream/jetstream_mapping.hpp"

#include <algorithm>
#include <boost/json.hpp>
#include <charconv>

#include "tasks/queue/queue_rules.hpp"

namespace isla::tasks::jetstream {

namespace {

constexpr std::int64_t kRecheckMs = 1000;  // a record not yet in its final shape

bool valid_port(std::string_view text) {
  int port = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), port);
  return ec == std::errc{} && end == text.data() + text.size() && port > 0 && port < 65536;
}

bool valid_host(std::string_view host) {
  return !host.empty() && host.size() <= 253 && std::all_of(host.begin(), host.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '-' || c == '_';
  });
}

}  // namespace

std::string priority_subject(std::string_view prefix, int priority) {
  return std::string(prefix) + ".p" + std::to_string(std::clamp(priority, 0, kMaxPriority));
}

std::optional<int> priority_of_subject(std::string_view prefix, std::string_view subject) {
  if (subject.size() != prefix.size() + 3 || !subject.starts_with(prefix) ||
      subject.substr(prefix.size(), 2) != ".p") {
    return std::nullopt;
  }
  const char digit = subject.back();
  if (digit < '0' || digit > '0' + kMaxPriority) return std::nullopt;
  return digit - '0';
}

Judgement judge_delivery(const std::optional<TaskRecord>& record, std::int64_t now_ms,
                         std::int64_t age_ms) {
  if (!record) {
    if (age_ms >= kOrphanAfterMs) return {Delivery::term, 0};
    return {Delivery::nak, kRecheckMs};
  }
  if (is_terminal(record->status)) return {Delivery::ack, 0};
  if (record->status == TaskStatus::queued) {
    if (record->not_before_ms > now_ms) return {Delivery::nak, record->not_before_ms - now_ms};
    return {Delivery::lease, 0};
  }
  // Running: another gateway (an earlier leader) granted it. Back when the lease runs out;
  // by then the worker has reported or the reaper has made the attempt a retry.
  return {Delivery::nak, std::max<std::int64_t>(record->lease_until_ms - now_ms, 0) + kRecheckMs};
}

Judgement after_attempt(bool ok, bool permanent, int attempts, int max_attempts) {
  if (ok || permanent || attempts >= max_attempts) return {Delivery::ack, 0};
  return {Delivery::nak, retry_backoff_ms(attempts)};
}

Judgement after_expired_lease(int attempts) {
  return {Delivery::nak, retry_backoff_ms(attempts)};
}

std::optional<TaskRecord> dead_letter(const TaskRecord& record, std::int64_t deliveries,
                                      std::int64_t now_ms) {
  if (is_terminal(record.status)) return std::nullopt;
  TaskRecord next = record;
  next.errors.push_back({record.attempts, now_ms, record.worker, "max_deliveries",
                         "JetStream delivered the task's message " + std::to_string(deliveries) +
                             " times without a recorded result"});
  next.status = TaskStatus::dead;
  next.finished_ms = now_ms;
  next.lease_until_ms = 0;
  next.lease.clear();  // a late report of the running attempt must read as lost
  return next;
}

std::optional<MaxDeliveries> parse_max_deliveries(std::string_view json) {
  boost::json::error_code ec;
  auto value = boost::json::parse(json, ec);
  if (ec || !value.is_object()) return std::nullopt;
  const auto& object = value.as_object();
  const auto* type = object.if_contains("type");
  if (type == nullptr || !type->is_string() ||
      type->as_string() != "io.nats.jetstream.advisory.v1.max_deliver") {
    return std::nullopt;
  }
  const auto* seq = object.if_contains("stream_seq");
  const auto* deliveries = object.if_contains("deliveries");
  if (seq == nullptr || deliveries == nullptr) return std::nullopt;
  MaxDeliveries parsed;
  if (seq->is_uint64()) {
    parsed.stream_seq = seq->as_uint64();
  } else if (seq->is_int64() && seq->as_int64() > 0) {
    parsed.stream_seq = static_cast<std::uint64_t>(seq->as_int64());
  } else {
    return std::nullopt;
  }
  if (deliveries->is_int64()) {
    parsed.deliveries = deliveries->as_int64();
  } else if (deliveries->is_uint64() && deliveries->as_uint64() < (1ULL << 62)) {
    parsed.deliveries = static_cast<std::int64_t>(deliveries->as_uint64());
  } else {
    return std::nullopt;
  }
  if (parsed.stream_seq == 0 || parsed.deliveries < 0) return std::nullopt;
  return parsed;
}

std::vector<std::string> parse_server_list(std::string_view text, std::string& error) {
  std::vector<std::string> urls;
  if (text.empty()) {
    error = "no NATS server given (nats://HOST:PORT[,HOST:PORT...])";
    return {};
  }
  while (true) {
    const auto comma = text.find(',');
    std::string_view item = text.substr(0, comma);
    if (item.starts_with("nats://")) item.remove_prefix(7);
    const auto colon = item.rfind(':');
    if (colon == std::string_view::npos || !valid_host(item.substr(0, colon)) ||
        !valid_port(item.substr(colon + 1))) {
      error = "'" + std::string(text.substr(0, comma)) +
              "' is not a NATS server address (nats://HOST:PORT)";
      return {};
    }
    urls.push_back("nats://" + std::string(item));
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
  }
  if (urls.size() > 16) {
    error = "more than 16 NATS servers given";
    return {};
  }
  return urls;
}

}  // namespace isla::tasks::jetstream
