#include "tasks/queue/store_task_queue.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>

#include "store/txn_ops.hpp"
#include "tasks/queue/task_keys.hpp"
#include "tasks/queue/worker_record.hpp"

namespace isla::tasks {

// GCC 12 reports a false -Wmismatched-new-delete on Asio's coroutine frames when the
// optimiser inlines them (as in gateway/event_log_routes.cpp); the frames use Asio's own
// matching operators.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

using store::Compare;
using store::Consistency;
using store::RequestOp;
using store::StoreError;
using store::StoreErrorCode;
using store::Txn;
using SteadyClock = std::chrono::steady_clock;

namespace {

using store::absent;
using store::put_op;
using store::revision_is;

template <class T>
QueueResult<T> failure(StoreError error) {
  return {std::nullopt, std::move(error)};
}

template <class T>
QueueResult<T> success(T value) {
  return {std::move(value), {}};
}

constexpr std::size_t kScalingKept = 20;

asio::awaitable<void> pause(std::chrono::milliseconds how_long) {
  asio::steady_timer timer(co_await asio::this_coro::executor, how_long);
  co_await timer.async_wait(net::use_nothrow);
}

}  // namespace

StoreTaskQueue::StoreTaskQueue(store::Store& store, StoreTaskQueueOptions options,
                               std::unique_ptr<core::Random> random)
    : store_(store),
      options_(std::move(options)),
      submits_(std::make_shared<SubmitBatcher>(store, options_.submit_batching)),
      random_(std::move(random)) {}

void StoreTaskQueue::start(asio::any_io_executor executor) {
  executor_ = executor;
  asio::co_spawn(
      executor, [self = shared_from_this()]() -> asio::awaitable<void> { co_await self->follow(); },
      asio::detached);
}

void StoreTaskQueue::stop() {
  std::lock_guard lock(mutex_);
  stopped_ = true;
  wake(lease_waiters_);
  for (auto& [id, waiter] : settle_waiters_) {
    auto copy = waiter;
    Wake::complete(std::move(copy), true);
  }
  settle_waiters_.clear();
}

StoreError StoreTaskQueue::not_leader() const {
  return {StoreErrorCode::not_leader,
          "this gateway does not lead the island store; the leader's gateway runs the queue",
          options_.leadership().leader_address};
}

std::string StoreTaskQueue::next_token() {
  std::lock_guard lock(mutex_);
  return fmt::format("{:016x}", random_->next());
}

// --- following the store ---------------------------------------------------------------

asio::awaitable<void> StoreTaskQueue::follow() {
  store::Revision from = 0;
  for (;;) {
    {
      std::lock_guard lock(mutex_);
      if (stopped_) co_return;
    }
    if (from == 0) {
      auto loaded =
          co_await store_.range(std::string(kTasksPrefix), true, Consistency::serializable,
                                SteadyClock::now() + std::chrono::seconds(5));
      if (!loaded.ok()) {
        co_await pause(options_.tick);
        continue;
      }
      std::lock_guard lock(mutex_);
      index_.clear();
      live_.clear();
      workers_.clear();
      for (const auto& kv : loaded.value->kvs) {
        apply({store::Event::Type::put, kv}, false);
      }
      from = loaded.value->revision + 1;
      wake(lease_waiters_);
    }
    const bool leading = options_.leadership().leading;
    {
      std::lock_guard lock(mutex_);
      if (leading != dispatching_) {
        spdlog::info("task queue: {} dispatching", leading ? "started" : "stopped");
        dispatching_ = leading;
      }
    }
    if (leading) co_await reap();
    auto watched =
        co_await store_.watch(std::string(kTasksPrefix), from, SteadyClock::now() + options_.tick);
    if (!watched.ok()) {
      co_await pause(options_.tick);
      continue;
    }
    if (watched.value->compacted) {
      // The history we needed is gone: read the whole queue again.
      from = 0;
      continue;
    }
    std::lock_guard lock(mutex_);
    for (const auto& event : watched.value->events) apply(event, true);
    from = watched.value->next;
  }
}

void StoreTaskQueue::apply(const store::Event& event, bool live) {
  const std::string& key = event.kv.key;
  const store::Revision revision = event.kv.mod_revision;
  if (key.starts_with(kTaskPrefix)) {
    const std::string id = key.substr(kTaskPrefix.size());
    if (event.type == store::Event::Type::del) {
      index_.erase(id, revision);
      live_.erase(id);
      return;
    }
    auto record = decode_record(event.kv.value);
    if (!record) {
      spdlog::warn("task queue: ignoring a record it cannot read at key={}", key);
      return;
    }
    const auto previous = index_.status_of(id);
    index_.upsert(*record, revision);
    if (is_terminal(record->status)) {
      live_.erase(id);
    } else if (auto& kept = live_[id]; kept.revision < revision) {
      kept = Read{*record, revision};
    }
    if (live && options_.observer && previous != record->status) {
      options_.observer->on_task(*record, previous);
    }
    if (record->status == TaskStatus::queued) wake(lease_waiters_);
    if (is_terminal(record->status)) {
      auto [first, last] = settle_waiters_.equal_range(id);
      for (auto it = first; it != last; ++it) {
        auto copy = it->second;
        Wake::complete(std::move(copy), true);
      }
      settle_waiters_.erase(first, last);
    }
    return;
  }
  if (key.starts_with(kScalingPrefix) && event.type == store::Event::Type::put) {
    scaling_.push_back(event.kv.value);
    while (scaling_.size() > kScalingKept) scaling_.pop_front();
    return;
  }
  if (key.starts_with(kWorkerPrefix)) {
    const std::string worker = key.substr(kWorkerPrefix.size());
    auto found = workers_.find(worker);
    if (event.type == store::Event::Type::del) {
      if (found == workers_.end()) return;
      if (live && options_.observer) options_.observer->on_worker(found->second.state, true);
      workers_.erase(found);
      return;
    }
    auto state = decode_worker(event.kv.value);
    if (!state) return;
    const bool changed =
        found == workers_.end() || found->second.state.report.draining != state->report.draining;
    workers_[worker] = {*state, revision};
    if (live && changed && options_.observer) options_.observer->on_worker(*state, false);
  }
}

// The leader's housekeeping: leases that ran out become failed attempts (retried after
// their backoff, or dead), and workers silent for too long are forgotten.
asio::awaitable<void> StoreTaskQueue::reap() {
  const std::int64_t now = options_.now_ms();
  std::vector<std::string> expired;
  std::vector<std::pair<std::string, store::Revision>> silent;
  {
    std::lock_guard lock(mutex_);
    expired = index_.expired(now, 256);
    for (const auto& [worker, entry] : workers_) {
      if (entry.state.last_seen_ms + options_.worker_timeout.count() < now) {
        silent.emplace_back(worker, entry.revision);
      }
    }
  }
  const auto deadline = SteadyClock::now() + std::chrono::seconds(2);
  std::vector<Change> changes;
  for (const auto& id : expired) {
    auto read = co_await this->read(id, Consistency::serializable, deadline);
    if (read.ok() && *read.value) {
      if (auto next = expire_lease((*read.value)->record, now)) {
        spdlog::info("task lease expired id={} worker={} attempt={}", id,
                     (*read.value)->record.worker, (*read.value)->record.attempts);
        changes.push_back({id, (*read.value)->revision, std::move(*next)});
        continue;
      }
    }
    std::lock_guard lock(mutex_);
    index_.release(id);
  }
  if (!changes.empty()) {
    auto written = co_await write(changes, deadline);
    std::lock_guard lock(mutex_);
    for (std::size_t i = 0; i < changes.size(); ++i) {
      if (!written.ok() || !(*written.value)[i]) index_.release(changes[i].id);
    }
  }
  for (const auto& [worker, revision] : silent) {
    spdlog::info("task worker gone worker={} (silent for more than {} ms)", worker,
                 options_.worker_timeout.count());
    Txn txn;
    txn.compares.push_back(revision_is(worker_key(worker), revision));
    RequestOp del;
    del.kind = RequestOp::Kind::del;
    del.key = worker_key(worker);
    txn.success.push_back(std::move(del));
    co_await store_.txn(txn, deadline);
  }
}

// --- reading and writing records ---------------------------------------------------------

asio::awaitable<QueueResult<std::optional<StoreTaskQueue::Read>>> StoreTaskQueue::read(
    const std::string& id, Consistency consistency, Deadline deadline) {
  auto range = co_await store_.range(task_key(id), false, consistency, deadline);
  if (!range.ok()) co_return failure<std::optional<Read>>(range.error);
  if (range.value->kvs.empty()) co_return success<std::optional<Read>>(std::nullopt);
  const auto& kv = range.value->kvs.front();
  auto record = decode_record(kv.value);
  if (!record) {
    co_return failure<std::optional<Read>>(
        {StoreErrorCode::rejected, "the record of task " + id + " cannot be read", {}});
  }
  co_return success<std::optional<Read>>(Read{std::move(*record), kv.mod_revision});
}

asio::awaitable<QueueResult<std::vector<bool>>> StoreTaskQueue::write(
    const std::vector<Change>& changes, Deadline deadline) {
  std::vector<bool> written(changes.size(), false);
  if (changes.empty()) co_return success(written);
  Txn batch;
  for (const auto& change : changes) {
    batch.compares.push_back(revision_is(task_key(change.id), change.revision));
    batch.success.push_back(put_op(task_key(change.id), encode_record(change.next)));
  }
  auto result = co_await store_.txn(batch, deadline);
  if (!result.ok()) co_return failure<std::vector<bool>>(result.error);
  if (result.value->succeeded) {
    written.assign(changes.size(), true);
    co_return success(written);
  }
  if (changes.size() == 1) co_return success(written);
  // Another write got to one of them first: the others may still go, one by one.
  for (std::size_t i = 0; i < changes.size(); ++i) {
    Txn one;
    one.compares.push_back(batch.compares[i]);
    one.success.push_back(batch.success[i]);
    auto single = co_await store_.txn(one, deadline);
    if (!single.ok()) co_return failure<std::vector<bool>>(single.error);
    written[i] = single.value->succeeded;
  }
  co_return success(written);
}

asio::awaitable<QueueResult<Settled>> StoreTaskQueue::settle(
    const std::vector<std::pair<std::string, std::string>>& attempts,
    const std::function<std::optional<TaskRecord>(const TaskRecord&, std::size_t)>& transition,
    Deadline deadline) {
  if (!options_.leadership().leading) co_return failure<Settled>(not_leader());
  Settled settled;
  // First from the records the watch brought (no read on the Raft thread); what a newer
  // write beat is judged again from the store's own copy.
  std::vector<std::size_t> pending(attempts.size());
  for (std::size_t i = 0; i < pending.size(); ++i) pending[i] = i;
  std::vector<std::size_t> lost_ids;
  // More than two passes: a worker's extend and its complete for the same tasks can race
  // (both batches), and a CAS lost twice to the other call's write would drop a recorded
  // result until the lease runs out (seen under load in bench/queue_vs_nats.sh).
  constexpr int kPasses = 4;
  for (int pass = 0; pass < kPasses && !pending.empty(); ++pass) {
    const bool last = pass == kPasses - 1;
    std::vector<Change> changes;
    std::vector<std::size_t> changed;
    std::vector<std::size_t> again;  // the watch's copy was older than the attempt
    for (const std::size_t i : pending) {
      const auto& [id, token] = attempts[i];
      std::optional<Read> current = pass == 0 ? cached(id) : std::nullopt;
      if (!current) {
        // The second look decides what is lost, so it must see every committed write: a
        // gateway that still believes it leads while its replica lags (a new leader was
        // elected meanwhile) would otherwise refuse a report against an old record.
        auto read = co_await this->read(
            id, pass == 0 ? Consistency::serializable : Consistency::linearizable, deadline);
        if (!read.ok()) co_return failure<Settled>(read.error);
        current = std::move(*read.value);
      }
      if (!current) {
        spdlog::info("task attempt lost id={}: no such task (pass {})", id, pass);
        settled.lost.push_back(id);
        continue;
      }
      if (already_settled(current->record, token)) {
        settled.done.push_back(id);  // a report sent again after its answer was lost
        continue;
      }
      auto next = transition(current->record, i);
      if (!next) {
        if (pass > 0) {
          spdlog::info("task attempt lost id={} status={} lease_held={} revision={}", id,
                       to_string(current->record.status), current->record.lease == token,
                       current->revision);
        }
        (pass == 0 ? again : lost_ids).push_back(i);  // judged on the store's copy: final
        continue;
      }
      changes.push_back({id, current->revision, std::move(*next)});
      changed.push_back(i);
    }
    for (const std::size_t i : lost_ids) settled.lost.push_back(attempts[i].first);
    lost_ids.clear();
    auto written = co_await write(changes, deadline);
    if (!written.ok()) co_return failure<Settled>(written.error);
    pending = std::move(again);
    for (std::size_t k = 0; k < changes.size(); ++k) {
      if ((*written.value)[k]) {
        settled.done.push_back(changes[k].id);
      } else if (!last) {
        pending.push_back(changed[k]);
      } else {
        spdlog::info("task attempt lost id={}: another write came first {} times", changes[k].id,
                     kPasses);
        settled.lost.push_back(changes[k].id);
      }
    }
  }
  co_return success(std::move(settled));
}

std::optional<StoreTaskQueue::Read> StoreTaskQueue::cached(const std::string& id) const {
  std::lock_guard lock(mutex_);
  auto found = live_.find(id);
  if (found == live_.end()) return std::nullopt;
  return found->second;
}

// --- clients --------------------------------------------------------------------------

asio::awaitable<QueueResult<Submitted>> StoreTaskQueue::submit(const SubmitSpec& spec,
                                                               Deadline deadline) {
  if (!options_.leadership().leading) co_return failure<Submitted>(not_leader());
  TaskRecord record = prepare(spec);
  auto submitted = co_await submit_prepared(spec, std::move(record), deadline);
  co_return submitted;
}

TaskRecord StoreTaskQueue::prepare(const SubmitSpec& spec) {
  const std::int64_t now = options_.now_ms();
  std::uint64_t random = 0;
  {
    std::lock_guard lock(mutex_);
    random = random_->next();
  }
  return new_task(spec, make_task_id(now, random), now);
}

asio::awaitable<QueueResult<Submitted>> StoreTaskQueue::submit_prepared(const SubmitSpec& spec,
                                                                        TaskRecord record,
                                                                        Deadline deadline) {
  auto batched = co_await submits_->write(record, spec.idempotency_key, deadline);
  if (!batched.ok()) co_return failure<Submitted>(batched.error);
  if (*batched.value) co_return success(Submitted{std::move(record), false});
  // A key of the shared transaction existed already, maybe another submission's: alone, this
  // one is written, or learns which task its idempotency key names.
  Txn txn;
  if (!spec.idempotency_key.empty()) {
    const std::string key = idempotency_key(spec.idempotency_key);
    txn.compares.push_back(absent(key));
    txn.success.push_back(put_op(task_key(record.id), encode_record(record)));
    txn.success.push_back(put_op(key, record.id));
    RequestOp get;
    get.key = key;
    txn.failure.push_back(std::move(get));
  } else {
    txn.compares.push_back(absent(task_key(record.id)));
    txn.success.push_back(put_op(task_key(record.id), encode_record(record)));
  }
  auto result = co_await store_.txn(txn, deadline);
  if (!result.ok()) co_return failure<Submitted>(result.error);
  if (result.value->succeeded) co_return success(Submitted{std::move(record), false});
  if (spec.idempotency_key.empty() || result.value->results.empty() ||
      result.value->results.front().kvs.empty()) {
    co_return failure<Submitted>(
        {StoreErrorCode::conflict, "a task with this id exists already; submit again", {}});
  }
  const std::string first = result.value->results.front().kvs.front().value;
  auto existing = co_await get(first, deadline);
  if (!existing.ok()) co_return failure<Submitted>(existing.error);
  co_return success(Submitted{std::move(*existing.value), true});
}

asio::awaitable<QueueResult<TaskRecord>> StoreTaskQueue::get(const std::string& id,
                                                             Deadline deadline) {
  auto read = co_await this->read(id, Consistency::linearizable, deadline);
  if (!read.ok()) co_return failure<TaskRecord>(read.error);
  if (!*read.value) {
    co_return failure<TaskRecord>({StoreErrorCode::not_found, "no task " + id, {}});
  }
  co_return success(std::move((*read.value)->record));
}

asio::awaitable<QueueResult<TaskPage>> StoreTaskQueue::list(std::optional<TaskStatus> status,
                                                            const std::string& after,
                                                            std::size_t limit, Deadline deadline) {
  auto range =
      co_await store_.range(std::string(kTaskPrefix), true, Consistency::linearizable, deadline);
  if (!range.ok()) co_return failure<TaskPage>(range.error);
  TaskPage page;
  for (const auto& kv : range.value->kvs) {
    const std::string_view id = std::string_view(kv.key).substr(kTaskPrefix.size());
    if (!after.empty() && id <= after) continue;
    auto record = decode_record(kv.value);
    if (!record || (status && record->status != *status)) continue;
    if (page.tasks.size() == limit) {
      page.next = page.tasks.back().id;
      break;
    }
    page.tasks.push_back(std::move(*record));
  }
  co_return success(std::move(page));
}

asio::awaitable<QueueResult<TaskRecord>> StoreTaskQueue::cancel(const std::string& id,
                                                                Deadline deadline) {
  if (!options_.leadership().leading) co_return failure<TaskRecord>(not_leader());
  for (int attempt = 0; attempt < 5; ++attempt) {
    auto read = co_await this->read(id, Consistency::serializable, deadline);
    if (!read.ok()) co_return failure<TaskRecord>(read.error);
    if (!*read.value) {
      co_return failure<TaskRecord>({StoreErrorCode::not_found, "no task " + id, {}});
    }
    auto next = tasks::cancel((*read.value)->record, options_.now_ms());
    if (!next) {
      co_return failure<TaskRecord>({StoreErrorCode::conflict,
                                     std::string("task ") + id + " is " +
                                         to_string((*read.value)->record.status) +
                                         ": only a queued task can be cancelled",
                                     {}});
    }
    std::vector<Change> changes{{id, (*read.value)->revision, *next}};
    auto written = co_await write(changes, deadline);
    if (!written.ok()) co_return failure<TaskRecord>(written.error);
    if ((*written.value)[0]) co_return success(std::move(*next));
  }
  co_return failure<TaskRecord>(
      {StoreErrorCode::conflict, "task " + id + " kept changing; try again", {}});
}

asio::awaitable<QueueResult<TaskRecord>> StoreTaskQueue::wait_settled(const std::string& id,
                                                                      Deadline deadline) {
  for (;;) {
    // Listen before looking, so that a change between the two is not missed.
    auto waiter = Wake::on(co_await asio::this_coro::executor);
    {
      std::lock_guard lock(mutex_);
      if (!stopped_) settle_waiters_.emplace(id, waiter);
    }
    auto read = co_await this->read(id, Consistency::serializable, deadline);
    const auto now = SteadyClock::now();
    if (!read.ok() || !*read.value || is_terminal((*read.value)->record.status) ||
        now >= deadline) {
      std::lock_guard lock(mutex_);
      auto [first, last] = settle_waiters_.equal_range(id);
      for (auto it = first; it != last; ++it) {
        if (it->second == waiter) {
          settle_waiters_.erase(it);
          break;
        }
      }
      if (!read.ok()) co_return failure<TaskRecord>(read.error);
      if (!*read.value) {
        co_return failure<TaskRecord>({StoreErrorCode::not_found, "no task " + id, {}});
      }
      co_return success(std::move((*read.value)->record));
    }
    co_await waiter->wait(deadline);
  }
}

// --- workers -----------------------------------------------------------------------------

asio::awaitable<std::vector<TaskRecord>> StoreTaskQueue::grant(const std::vector<std::string>& ids,
                                                               const LeaseAsk& ask,
                                                               Deadline deadline) {
  const std::int64_t now = options_.now_ms();
  std::vector<Change> changes;
  for (const auto& id : ids) {
    // The watch's copy: if a newer write beat it, the compare-and-swap refuses the lease.
    std::optional<Read> current = cached(id);
    if (!current) {
      auto read = co_await this->read(id, Consistency::serializable, deadline);
      if (read.ok() && *read.value) current = std::move(**read.value);
    }
    if (current && is_leasable(current->record, now)) {
      changes.push_back(
          {id, current->revision,
           grant_lease(current->record, ask.worker, next_token(), now, ask.visibility_ms)});
      continue;
    }
    std::lock_guard lock(mutex_);
    index_.release(id);
  }
  std::vector<TaskRecord> granted;
  auto written = co_await write(changes, deadline);
  std::lock_guard lock(mutex_);
  for (std::size_t i = 0; i < changes.size(); ++i) {
    if (written.ok() && (*written.value)[i]) {
      // The reservation lasts until the watch brings this write: until then the index
      // still holds the task as queued.
      granted.push_back(std::move(changes[i].next));
    } else {
      index_.release(changes[i].id);
    }
  }
  co_return granted;
}

asio::awaitable<QueueResult<std::vector<TaskRecord>>> StoreTaskQueue::lease(const LeaseAsk& asked,
                                                                            Deadline deadline) {
  if (!options_.leadership().leading) co_return failure<std::vector<TaskRecord>>(not_leader());
  LeaseAsk ask = asked;
  ask.max = std::clamp(ask.max, 1, 256);
  ask.visibility_ms = std::clamp<std::int64_t>(ask.visibility_ms, 1000, options_.max_visibility_ms);
  const auto wait_until = std::min(deadline, SteadyClock::now() + ask.wait);
  for (;;) {
    std::vector<std::string> picked;
    {
      std::lock_guard lock(mutex_);
      if (stopped_ || departed_.contains(ask.worker)) {
        co_return success(std::vector<TaskRecord>{});
      }
      picked =
          index_.pick(options_.now_ms(), static_cast<std::size_t>(ask.max), options_.max_running);
    }
    if (!picked.empty()) {
      auto granted = co_await grant(picked, ask, deadline);
      if (!granted.empty()) co_return success(std::move(granted));
    }
    const auto now = SteadyClock::now();
    if (now >= wait_until) co_return success(std::vector<TaskRecord>{});
    // Leadership moved while waiting: the worker asks again, and is sent to the new leader.
    if (!options_.leadership().leading) co_return success(std::vector<TaskRecord>{});
    co_await sleep_until_woken(lease_waiters_, std::min(wait_until, now + options_.tick));
  }
}

asio::awaitable<QueueResult<Settled>> StoreTaskQueue::extend(const std::string& worker,
                                                             const std::vector<LeaseRef>& leases,
                                                             std::int64_t visibility_ms,
                                                             Deadline deadline) {
  (void)worker;  // the token names the attempt; the worker's name is for the logs
  std::vector<std::pair<std::string, std::string>> attempts;
  for (const auto& ref : leases) attempts.emplace_back(ref.id, ref.lease);
  const std::int64_t now = options_.now_ms();
  const std::int64_t visibility =
      std::clamp<std::int64_t>(visibility_ms, 1000, options_.max_visibility_ms);
  co_return co_await settle(
      attempts,
      [&](const TaskRecord& record, std::size_t i) {
        return extend_lease(record, leases[i].lease, now, visibility);
      },
      deadline);
}

asio::awaitable<QueueResult<Settled>> StoreTaskQueue::complete(
    const std::string& worker, const std::vector<AttemptResult>& results, Deadline deadline) {
  (void)worker;
  std::vector<std::pair<std::string, std::string>> attempts;
  for (const auto& result : results) attempts.emplace_back(result.id, result.lease);
  const std::int64_t now = options_.now_ms();
  co_return co_await settle(
      attempts,
      [&](const TaskRecord& record, std::size_t i) {
        const auto& result = results[i];
        return result.ok ? record_success(record, result.lease, result.result, now)
                         : record_failure(record, result.lease, result.kind, result.error,
                                          result.permanent, now);
      },
      deadline);
}

asio::awaitable<QueueResult<bool>> StoreTaskQueue::heartbeat(const WorkerReport& report,
                                                             Deadline deadline) {
  if (!options_.leadership().leading) co_return failure<bool>(not_leader());
  WorkerState state{report, options_.now_ms(), false};
  {
    std::lock_guard lock(mutex_);
    departed_.erase(report.worker);  // back (restarted with the same id)
    auto found = workers_.find(report.worker);
    if (found != workers_.end()) state.drain_requested = found->second.state.drain_requested;
  }
  auto result = co_await store_.txn(store::put_txn(worker_key(report.worker), encode_worker(state)),
                                    deadline);
  if (!result.ok()) co_return failure<bool>(result.error);
  co_return success(state.drain_requested);
}

asio::awaitable<QueueResult<bool>> StoreTaskQueue::bye(const std::string& worker,
                                                       Deadline deadline) {
  if (!options_.leadership().leading) co_return failure<bool>(not_leader());
  {
    std::lock_guard lock(mutex_);
    const std::int64_t now = options_.now_ms();
    std::erase_if(departed_, [&](const auto& entry) {
      return entry.second + options_.worker_timeout.count() * 12 < now;
    });
    departed_[worker] = now;
    wake(lease_waiters_);
  }
  auto result = co_await store_.txn(store::delete_txn(worker_key(worker)), deadline);
  if (!result.ok()) co_return failure<bool>(result.error);
  co_return success(true);
}

asio::awaitable<QueueResult<bool>> StoreTaskQueue::request_drain(const std::string& worker,
                                                                 Deadline deadline) {
  if (!options_.leadership().leading) co_return failure<bool>(not_leader());
  std::optional<WorkerEntry> entry;
  {
    std::lock_guard lock(mutex_);
    auto found = workers_.find(worker);
    if (found != workers_.end()) entry = found->second;
  }
  if (!entry) co_return failure<bool>({StoreErrorCode::not_found, "no worker " + worker, {}});
  entry->state.drain_requested = true;
  Txn txn;
  txn.compares.push_back(revision_is(worker_key(worker), entry->revision));
  txn.success.push_back(put_op(worker_key(worker), encode_worker(entry->state)));
  auto result = co_await store_.txn(txn, deadline);
  if (!result.ok()) co_return failure<bool>(result.error);
  co_return success(result.value->succeeded);
}

QueueStats StoreTaskQueue::stats() const {
  const std::int64_t now = options_.now_ms();
  std::lock_guard lock(mutex_);
  QueueStats stats;
  for (int s = 0; s < 5; ++s) stats.by_status[s] = index_.count(static_cast<TaskStatus>(s));
  stats.ready = index_.ready_count(now, options_.max_running);
  stats.oldest_ready_ms = index_.oldest_ready_since(now).value_or(0);
  for (const auto& [worker, entry] : workers_) stats.workers.push_back(entry.state);
  stats.dispatching = dispatching_;
  stats.scaling.assign(scaling_.begin(), scaling_.end());
  return stats;
}

// --- waking ------------------------------------------------------------------------------

asio::awaitable<void> StoreTaskQueue::sleep_until_woken(std::vector<std::shared_ptr<Wake>>& list,
                                                        Deadline until) {
  auto waiter = Wake::on(co_await asio::this_coro::executor);
  {
    std::lock_guard lock(mutex_);
    if (stopped_) co_return;
    list.push_back(waiter);
  }
  co_await waiter->wait(until);
  std::lock_guard lock(mutex_);
  std::erase(list, waiter);
}

void StoreTaskQueue::wake(std::vector<std::shared_ptr<Wake>>& list) {
  for (auto& waiter : list) {
    auto copy = waiter;
    Wake::complete(std::move(copy), true);
  }
  list.clear();
}

}  // namespace isla::tasks
