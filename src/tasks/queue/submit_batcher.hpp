#pragma once
// Group commit for submissions. Each submission used to be a transaction of its own: one
// Raft entry, one trip to the Raft thread and back, one answer to decode. Here the
// submissions that arrive while earlier ones are being written wait for a writer and go to
// the store together, in one transaction (one entry). Under a trickle nothing waits (a
// writer is free); under load the batches grow by themselves. A submission is answered
// only once the transaction that carries it committed, as before: nothing is acknowledged
// that the store could still lose.
#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "net/group_commit.hpp"
#include "store/store.hpp"
#include "tasks/queue/task_record.hpp"

namespace isla::tasks {

struct SubmitBatcherOptions {
  std::size_t max_batch = 128;  // submissions per transaction
  std::size_t max_writers = 8;  // transactions in flight at once
};

class SubmitBatcher final : public std::enable_shared_from_this<SubmitBatcher> {
 public:
  SubmitBatcher(store::Store& store, SubmitBatcherOptions options);

  // Writes the new task's record (and its idempotency key, when not empty) if neither
  // exists yet. true: written. false: not written, because some key of its transaction
  // existed already (its own or another submission's): the caller writes it alone, and
  // learns which. An error (unknown_outcome included) is the transaction's.
  asio::awaitable<store::StoreResult<bool>> write(const TaskRecord& record,
                                                  const std::string& idempotency,
                                                  store::Deadline deadline);

 private:
  struct Submission {
    std::string idempotency;
    std::vector<store::Compare> compares;
    std::vector<store::RequestOp> puts;
  };
  using Group = net::GroupCommit<Submission, store::StoreResult<bool>>;
  using Pending = Group::Queued;

  // The next batch, without two submissions of one idempotency key (the second must see
  // the first's key: it waits for the next batch).
  std::vector<Pending> take_batch(std::vector<Pending>& queue) const;
  // One transaction for the batch; every submission in it gets the transaction's outcome.
  asio::awaitable<void> write_batch(std::vector<Pending> batch);

  store::Store& store_;
  SubmitBatcherOptions options_;
  Group group_;
};

}  // namespace isla::tasks
