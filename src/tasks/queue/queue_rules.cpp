#include "tasks/queue/queue_rules.hpp"

#include <algorithm>

namespace isla::tasks {

namespace {

constexpr std::int64_t kMaxBackoffMs = 60'000;

TaskRecord fail_attempt(const TaskRecord& record, const std::string& kind, const std::string& error,
                        bool permanent, std::int64_t now_ms) {
  TaskRecord next = record;
  next.errors.push_back({record.attempts, now_ms, record.worker, kind, error});
  next.lease_until_ms = 0;
  if (permanent || record.attempts >= record.max_attempts) {
    next.status = TaskStatus::dead;
    next.finished_ms = now_ms;
  } else {
    next.status = TaskStatus::queued;
    next.not_before_ms = now_ms + retry_backoff_ms(record.attempts);
  }
  return next;
}

bool holds(const TaskRecord& record, const std::string& token) {
  return record.status == TaskStatus::running && !token.empty() && record.lease == token;
}

}  // namespace

std::int64_t retry_backoff_ms(int failed_attempts) {
  if (failed_attempts <= 1) return 1000;
  if (failed_attempts > 7) return kMaxBackoffMs;
  return std::min<std::int64_t>(kMaxBackoffMs, 1000LL << (failed_attempts - 1));
}

TaskRecord new_task(const SubmitSpec& spec, std::string id, std::int64_t now_ms) {
  TaskRecord record;
  record.id = std::move(id);
  record.type = spec.type;
  record.params = spec.params;
  record.priority = std::clamp(spec.priority, 0, kMaxPriority);
  record.max_attempts = std::clamp(spec.max_attempts, 1, kMaxAttemptsLimit);
  record.submitted_ms = now_ms;
  record.idempotency_key = spec.idempotency_key;
  return record;
}

bool is_leasable(const TaskRecord& record, std::int64_t now_ms) {
  return record.status == TaskStatus::queued && record.not_before_ms <= now_ms;
}

bool lease_expired(const TaskRecord& record, std::int64_t now_ms) {
  return record.status == TaskStatus::running && record.lease_until_ms < now_ms;
}

TaskRecord grant_lease(const TaskRecord& record, const std::string& worker,
                       const std::string& token, std::int64_t now_ms, std::int64_t visibility_ms) {
  TaskRecord next = record;
  next.status = TaskStatus::running;
  next.attempts = record.attempts + 1;
  next.worker = worker;
  next.lease = token;
  next.started_ms = now_ms;
  next.lease_until_ms = now_ms + visibility_ms;
  return next;
}

std::optional<TaskRecord> extend_lease(const TaskRecord& record, const std::string& token,
                                       std::int64_t now_ms, std::int64_t visibility_ms) {
  if (!holds(record, token)) return std::nullopt;
  TaskRecord next = record;
  next.lease_until_ms = std::max(record.lease_until_ms, now_ms + visibility_ms);
  return next;
}

std::optional<TaskRecord> record_success(const TaskRecord& record, const std::string& token,
                                         boost::json::value result, std::int64_t now_ms) {
  if (!holds(record, token)) return std::nullopt;
  TaskRecord next = record;
  next.status = TaskStatus::done;
  next.result = std::move(result);
  next.finished_ms = now_ms;
  next.lease_until_ms = 0;
  return next;
}

std::optional<TaskRecord> record_failure(const TaskRecord& record, const std::string& token,
                                         const std::string& kind, const std::string& error,
                                         bool permanent, std::int64_t now_ms) {
  if (!holds(record, token)) return std::nullopt;
  return fail_attempt(record, kind, error, permanent, now_ms);
}

std::optional<TaskRecord> expire_lease(const TaskRecord& record, std::int64_t now_ms) {
  if (!lease_expired(record, now_ms)) return std::nullopt;
  TaskRecord next =
      fail_attempt(record, "lease_expired",
                   "worker " + record.worker + " held the lease past its deadline", false, now_ms);
  // The worker did not end this attempt: a report it sends late must read as lost.
  next.lease.clear();
  return next;
}

bool already_settled(const TaskRecord& record, const std::string& token) {
  return record.status != TaskStatus::running && !token.empty() && record.lease == token;
}

std::optional<TaskRecord> cancel(const TaskRecord& record, std::int64_t now_ms) {
  if (record.status != TaskStatus::queued) return std::nullopt;
  TaskRecord next = record;
  next.status = TaskStatus::cancelled;
  next.finished_ms = now_ms;
  return next;
}

}  // namespace isla::tasks
