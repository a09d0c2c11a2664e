#pragma once
// The queue's state machine, pure: a record and the time in, the next record out. The
// store applies each transition with a compare-and-swap on the record's revision, so two
// gateways (or a gateway and a worker's late answer) can never both move the same record.
//
//   queued --lease--> running --ok--> done
//     ^                  |--error, attempts left--> queued (not before now + backoff)
//     |                  |--error, none left / bad params--> dead (every error kept)
//     |                  '--lease expired--> as an error of kind lease_expired
//   queued --cancel--> cancelled
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "tasks/queue/task_record.hpp"

namespace isla::tasks {

// 1, 2, 4, 8 ... s after the n-th failed attempt (n >= 1), at most 60 s.
std::int64_t retry_backoff_ms(int failed_attempts);

struct SubmitSpec {
  std::string type;
  boost::json::value params;
  int priority = 0;
  int max_attempts = 5;
  std::string idempotency_key;
};

TaskRecord new_task(const SubmitSpec& spec, std::string id, std::int64_t now_ms);

// Whether a worker may take the task now.
bool is_leasable(const TaskRecord& record, std::int64_t now_ms);
// Whether the running attempt's lease has run out.
bool lease_expired(const TaskRecord& record, std::int64_t now_ms);

TaskRecord grant_lease(const TaskRecord& record, const std::string& worker,
                       const std::string& token, std::int64_t now_ms, std::int64_t visibility_ms);
// The holder of `token` asks for more time; nullopt when it no longer holds the lease.
std::optional<TaskRecord> extend_lease(const TaskRecord& record, const std::string& token,
                                       std::int64_t now_ms, std::int64_t visibility_ms);

// The holder of `token` reports its attempt's end; nullopt when it no longer holds the
// lease (the result is then not recorded: the task belongs to a later attempt, or ended).
// An ended attempt keeps its token in the record, so that a report sent twice (its answer
// was lost) is recognised as recorded: see already_settled().
std::optional<TaskRecord> record_success(const TaskRecord& record, const std::string& token,
                                         boost::json::value result, std::int64_t now_ms);
std::optional<TaskRecord> record_failure(const TaskRecord& record, const std::string& token,
                                         const std::string& kind, const std::string& error,
                                         bool permanent, std::int64_t now_ms);
// A running task whose lease ran out: its attempt failed with kind lease_expired.
std::optional<TaskRecord> expire_lease(const TaskRecord& record, std::int64_t now_ms);

// Whether the attempt holding `token` has ended already (its report was recorded).
bool already_settled(const TaskRecord& record, const std::string& token);

std::optional<TaskRecord> cancel(const TaskRecord& record, std::int64_t now_ms);

}  // namespace isla::tasks
