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

SubmitBatcher::SubmitBatcher(store::Store& store, SubmitBatcherOptions options)
    : store_(store), options_(options) {
  options_.max_batch = std::max<std::size_t>(options_.max_batch, 1);
  options_.max_writers = std::max<std::size_t>(options_.max_writers, 1);
}

asio::awaitable<StoreResult<bool>> SubmitBatcher::write(const TaskRecord& record,
                                                        const std::string& idempotency,
                                                        store::Deadline deadline) {
  const auto executor = co_await asio::this_coro::executor;
  Pending pending{idempotency, {}, {}, deadline, Answer::on(executor)};
  pending.compares.push_back(store::absent(task_key(record.id)));
  pending.puts.push_back(store::put_op(task_key(record.id), encode_record(record)));
  if (!idempotency.empty()) {
    pending.compares.push_back(store::absent(idempotency_key(idempotency)));
    pending.puts.push_back(store::put_op(idempotency_key(idempotency), record.id));
  }
  auto answer = pending.answer;
  bool start_writer = false;
  {
    std::lock_guard lock(mutex_);
    pending_.push_back(std::move(pending));
    if (writers_ < options_.max_writers) {
      ++writers_;
      start_writer = true;
    }
  }
  if (start_writer) {
    asio::co_spawn(
        executor,
        [self = shared_from_this()]() -> asio::awaitable<void> { co_await self->drain(); },
        asio::detached);
  }
  auto answered = co_await answer->wait(deadline);
  if (answered) co_return std::move(*answered);
  // The transaction carrying it may still commit.
  co_return StoreResult<bool>{
      std::nullopt,
      {StoreErrorCode::unknown_outcome,
       "time ran out before the submission's write committed; it may or may not have been "
       "applied",
       {}}};
}

std::vector<SubmitBatcher::Pending> SubmitBatcher::take_batch() {
  std::vector<Pending> batch;
  std::vector<Pending> later;
  std::set<std::string, std::less<>> keys;
  for (auto& pending : pending_) {
    const bool repeated = !pending.idempotency.empty() && keys.contains(pending.idempotency);
    if (batch.size() >= options_.max_batch || repeated) {
      later.push_back(std::move(pending));
      continue;
    }
    if (!pending.idempotency.empty()) keys.insert(pending.idempotency);
    batch.push_back(std::move(pending));
  }
  pending_ = std::move(later);
  return batch;
}

asio::awaitable<void> SubmitBatcher::drain() {
  for (;;) {
    std::vector<Pending> batch;
    {
      std::lock_guard lock(mutex_);
      batch = take_batch();
      if (batch.empty()) {
        --writers_;
        co_return;
      }
    }
    store::Txn txn;
    store::Deadline deadline = batch.front().deadline;
    for (auto& pending : batch) {
      std::move(pending.compares.begin(), pending.compares.end(), std::back_inserter(txn.compares));
      std::move(pending.puts.begin(), pending.puts.end(), std::back_inserter(txn.success));
      deadline = std::max(deadline, pending.deadline);
    }
    auto result = co_await store_.txn(txn, deadline);
    for (auto& pending : batch) {
      StoreResult<bool> answer{std::nullopt, result.error};
      if (result.ok()) answer.value = result.value->succeeded;
      Answer::complete(std::move(pending.answer), std::move(answer));
    }
  }
}

}  // namespace isla::tasks
