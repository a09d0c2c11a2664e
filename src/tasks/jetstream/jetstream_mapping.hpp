#pragma once
// How the task queue maps onto JetStream, pure: what a delivered message means given the
// task's record, what a settled attempt does to its message, the subjects, and the dead
// letter a MAX_DELIVERIES advisory makes. The record in the island store stays the truth
// (status, attempts, every error, the one result); JetStream only decides who gets a task
// next and when it comes back. Tested without a server (tests/unit/jetstream_mapping_test.cpp).
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tasks/queue/task_record.hpp"

namespace isla::tasks::jetstream {

// A priority's subject: `<prefix>.p<0-9>`; the pull consumer filters on `<prefix>.>`.
std::string priority_subject(std::string_view prefix, int priority);
// The priority a message's subject names; nullopt for a subject this queue did not publish.
std::optional<int> priority_of_subject(std::string_view prefix, std::string_view subject);

// A message whose task has no record after this long was published by a submission that
// then failed (or was a duplicate): it is terminated. Younger ones come back later, as the
// record may still be on its way (a store write with an unknown outcome).
inline constexpr std::int64_t kOrphanAfterMs = 60'000;
// A consumer-wide cap, far above any task's max_attempts (kMaxAttemptsLimit): in normal
// operation the record's max_attempts makes a task dead; max_deliver only catches a message
// no gateway ever settles, and its advisory dead-letters the task.
inline constexpr std::int64_t kMaxDeliver = 2 * kMaxAttemptsLimit + 50;

enum class Delivery {
  lease,  // give it to a worker (queued and due)
  ack,    // the task is finished: the message has nothing left to do
  term,   // no such task, and none will come: drop it without redelivery
  nak,    // not now: back to JetStream, redelivered after delay_ms
};

struct Judgement {
  Delivery action = Delivery::nak;
  std::int64_t delay_ms = 0;
  friend bool operator==(const Judgement&, const Judgement&) = default;
};

// A delivered message for a task this gateway does not hold, its record as read now (none:
// absent), `age_ms` since it was published.
Judgement judge_delivery(const std::optional<TaskRecord>& record, std::int64_t now_ms,
                         std::int64_t age_ms);

// What a recorded attempt's end does to its message: a success or the last failure acks it
// (the record is final); a failure with attempts left naks it with the embedded queue's
// backoff (retry_backoff_ms), so that JetStream brings it back when the retry is due.
// `attempts` and `max_attempts` are the record's at lease time.
Judgement after_attempt(bool ok, bool permanent, int attempts, int max_attempts);

// A lease that ran out without a report: the attempt failed (the store's reaper records the
// lease_expired error); the message comes back after the same backoff.
Judgement after_expired_lease(int attempts);

// The dead letter a MAX_DELIVERIES advisory makes of a task still unfinished: dead, with
// an error saying why, every earlier error kept. nullopt for a finished task.
std::optional<TaskRecord> dead_letter(const TaskRecord& record, std::int64_t deliveries,
                                      std::int64_t now_ms);

// The stream sequence a `$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES` advisory names, with
// how many deliveries it counted; nullopt for anything else (the advisory comes over NATS,
// from whoever may publish there).
struct MaxDeliveries {
  std::uint64_t stream_seq = 0;
  std::int64_t deliveries = 0;
};
std::optional<MaxDeliveries> parse_max_deliveries(std::string_view json);

// `nats://host:port,nats://host:port` (or bare host:port) as libnats wants the URLs; an
// empty result for anything else, with `error` saying what.
std::vector<std::string> parse_server_list(std::string_view text, std::string& error);

}  // namespace isla::tasks::jetstream
