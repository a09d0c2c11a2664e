#include "tasks/queue/submit_batcher.hpp"

#include <algorithm>
#include <set>

#include "store/txn_ops.hpp"
#include "tasks/queue/task_keys.hpp"

namespace isla::tasks {

// GCC 12's false -Wmismatched-new-delete on inlined Asio coroutine frames (see
// store_task_queue.cpp).
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

using store::StoreError;
using store::StoreErrorCode;
using store::StoreResult;

namespace {

SubmitBatcherOptions within_limits(SubmitBatcherOptions options) {
  options.max_batch = std::max<std::size_t>(options.max_batch, 1);
  options.max_writers = std::max<std::size_t>(options.max_writers, 1);
  return options;
}

}  // namespace

// A submission whose caller's time ran out stays queued: the transaction that carries it may
// still commit, as it may for one already taken, so its caller's answer is the same either way.
SubmitBatcher::SubmitBatcher(store::Store& store, SubmitBatcherOptions options)
    : store_(store),
      options_(within_limits(options)),
      group_(
          {options_.max_writers, Group::OnTimeout::leave},
          [this](std::vector<Pending>& queue) { return take_batch(queue); },
          [this](std::vector<Pending> batch) { return write_batch(std::move(batch)); }) {}

asio::awaitable<StoreResult<bool>> SubmitBatcher::write(const TaskRecord& record,
                                                        const std::string& idempotency,
                                                        store::Deadline deadline) {
  Submission submission{idempotency, {}, {}};
  submission.compares.push_back(store::absent(task_key(record.id)));
  submission.puts.push_back(store::put_op(task_key(record.id), encode_record(record)));
  if (!idempotency.empty()) {
    submission.compares.push_back(store::absent(idempotency_key(idempotency)));
    submission.puts.push_back(store::put_op(idempotency_key(idempotency), record.id));
  }
  // Bound to locals first: GCC 12 mishandles temporaries in co_await expressions.
  auto waiting = group_.submit(std::move(submission), deadline, shared_from_this());
  auto waited = co_await std::move(waiting);
  if (waited.answer) co_return std::move(*waited.answer);
  // The transaction carrying it may still commit.
  co_return StoreResult<bool>{
      std::nullopt,
      {StoreErrorCode::unknown_outcome,
       "time ran out before the submission's write committed; it may or may not have been "
       "applied",
       {}}};
}

std::vector<SubmitBatcher::Pending> SubmitBatcher::take_batch(std::vector<Pending>& queue) const {
  std::set<std::string, std::less<>> keys;
  return Group::take_in_order(queue, [&](const std::vector<Pending>& batch, const Pending& next) {
    const auto& key = next.item.idempotency;
    if (batch.size() >= options_.max_batch || (!key.empty() && keys.contains(key))) return false;
    if (!key.empty()) keys.insert(key);
    return true;
  });
}

asio::awaitable<void> SubmitBatcher::write_batch(std::vector<Pending> batch) {
  store::Txn txn;
  store::Deadline deadline = batch.front().deadline;
  for (auto& pending : batch) {
    auto& submission = pending.item;
    std::move(submission.compares.begin(), submission.compares.end(),
              std::back_inserter(txn.compares));
    std::move(submission.puts.begin(), submission.puts.end(), std::back_inserter(txn.success));
    deadline = std::max(deadline, pending.deadline);
  }
  auto result = co_await store_.txn(txn, deadline);
  for (auto& pending : batch) {
    StoreResult<bool> answer{std::nullopt, result.error};
    if (result.ok()) answer.value = result.value->succeeded;
    Group::Answer::complete(std::move(pending.answer), std::move(answer));
  }
}

}  // namespace isla::tasks
