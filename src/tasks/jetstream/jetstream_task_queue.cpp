#include "tasks/jetstream/jetstream_task_queue.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "tasks/jetstream/jetstream_mapping.hpp"

namespace isla::tasks::jetstream {

// GCC 12's false -Wmismatched-new-delete on inlined Asio coroutine frames (as in
// tasks/queue/store_task_queue.cpp).
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

using store::StoreError;
using store::StoreErrorCode;
using SteadyClock = std::chrono::steady_clock;

namespace {

constexpr const char* kTypeHeader = "Isla-Type";

template <class T>
QueueResult<T> failure(StoreError error) {
  return {std::nullopt, std::move(error)};
}

// Runs `work` (which blocks: libnats) on `pool`, and resumes the caller on its own executor
// with the answer; nullopt if `deadline` passed first (the work still ends on the pool).
template <class T>
asio::awaitable<std::optional<T>> off_thread(asio::thread_pool& pool, std::function<T()> work,
                                             Deadline deadline) {
  auto done = net::Completion<T>::on(co_await asio::this_coro::executor);
  asio::post(pool, [done, work = std::move(work)]() mutable {
    auto copy = done;
    net::Completion<T>::complete(std::move(copy), work());
  });
  auto answer = co_await done->wait(deadline);
  co_return answer;
}

std::int64_t ms_from_ns(std::int64_t ns) {
  return ns / 1'000'000;
}

}  // namespace

JetStreamTaskQueue::JetStreamTaskQueue(std::shared_ptr<StoreTaskQueue> records,
                                       JetStreamQueueOptions options)
    : records_(std::move(records)), options_(std::move(options)) {}

JetStreamTaskQueue::~JetStreamTaskQueue() {
  stop();
}

StoreError JetStreamTaskQueue::not_leader() const {
  return {StoreErrorCode::not_leader,
          "this gateway does not lead the island store; the leader's gateway pulls the queue "
          "from JetStream",
          options_.leadership().leader_address};
}

void JetStreamTaskQueue::start(asio::any_io_executor executor,
                               std::chrono::milliseconds connect_timeout) {
  executor_ = executor;
  blocking_ = std::make_unique<asio::thread_pool>(options_.blocking_threads);
  nc_ = connect(options_.servers, "isla-gateway", connect_timeout);
  js_ = jetstream(nc_.get(), std::chrono::milliseconds(5000));
  {
    jsOptions async;
    jsOptions_Init(&async);
    async.Wait = 5000;
    async.PublishAsync.MaxPending = options_.max_publishing;
    async.PublishAsync.AckHandler = &JetStreamTaskQueue::on_publish_ack;
    async.PublishAsync.AckHandlerClosure = this;
    async.PublishAsync.StallWait = 1000;
    jsCtx* raw = nullptr;
    check(natsConnection_JetStream(&raw, nc_.get(), &async), "natsConnection_JetStream");
    publisher_.reset(raw);
  }
  ensure_stream(js_.get(), options_.stream, connect_timeout);
  sub_ = pull_subscribe(js_.get(), options_.stream);
  const std::string advisory = max_deliveries_subject(options_.stream);
  check(natsConnection_Subscribe(
            &advisories_, nc_.get(), advisory.c_str(),
            [](natsConnection*, natsSubscription*, natsMsg* msg, void* closure) {
              auto* self = static_cast<JetStreamTaskQueue*>(closure);
              self->on_max_deliveries(
                  std::string_view(natsMsg_GetData(msg), natsMsg_GetDataLength(msg)));
              natsMsg_Destroy(msg);
            },
            this),
        "subscribing to " + advisory);
  spdlog::info("task queue on JetStream: stream {} (R{}), consumer {}, ack wait {} ms",
               options_.stream.stream, options_.stream.replicas, options_.stream.consumer,
               options_.stream.ack_wait.count());
  records_->start(executor);
  pump_thread_ = std::thread([this] { pump(); });
  asio::co_spawn(
      executor,
      [self = shared_from_this()]() -> asio::awaitable<void> { co_await self->tick_loop(); },
      asio::detached);
}

void JetStreamTaskQueue::stop() {
  {
    std::lock_guard lock(mutex_);
    if (stopped_) return;
    stopped_ = true;
    wake_leases();
  }
  pump_cv_.notify_all();
  if (advisories_ != nullptr) {
    natsSubscription_Unsubscribe(advisories_);
    natsSubscription_Destroy(advisories_);
    advisories_ = nullptr;
  }
  if (pump_thread_.joinable()) pump_thread_.join();
  {
    // Held messages go back at once rather than after their ack wait.
    std::lock_guard lock(mutex_);
    for (auto& [id, held] : held_) {
      if (held.state != State::leased) natsMsg_Nak(held.msg.get(), nullptr);
    }
    held_.clear();
    ready_.clear();
  }
  if (records_) records_->stop();
  if (nc_) natsConnection_FlushTimeout(nc_.get(), 1000);
  if (blocking_) blocking_->join();
  sub_.reset();
  publisher_.reset();
  js_.reset();
  nc_.reset();
}

// --- pulling -------------------------------------------------------------------------------

void JetStreamTaskQueue::pump() {
  int errors = 0;
  for (;;) {
    int want = 0;
    {
      std::unique_lock lock(mutex_);
      pump_cv_.wait_for(lock, options_.tick * 2, [&] {
        return stopped_ || (was_leading_ && held_.size() < options_.prefetch);
      });
      if (stopped_) return;
      if (!was_leading_ || held_.size() >= options_.prefetch) continue;
      want = static_cast<int>(std::min<std::size_t>(options_.prefetch - held_.size(), 256));
    }
    natsMsgList list{};
    jsErrCode code = static_cast<jsErrCode>(0);
    const auto status = natsSubscription_Fetch(&list, sub_.get(), want, 500, &code);
    if (status == NATS_TIMEOUT) continue;
    if (status != NATS_OK) {
      if (errors++ % 50 == 0) {
        spdlog::warn("task queue: fetching from JetStream failed: {} ({})",
                     natsStatus_GetText(status), static_cast<int>(code));
      }
      std::unique_lock lock(mutex_);
      pump_cv_.wait_for(lock, options_.tick * 2, [&] { return stopped_; });
      continue;
    }
    errors = 0;
    for (int i = 0; i < list.Count; ++i) {
      take(list.Msgs[i]);
      list.Msgs[i] = nullptr;  // owned by held_ now (or destroyed by take)
    }
    natsMsgList_Destroy(&list);
    std::lock_guard lock(mutex_);
    wake_leases();
  }
}

void JetStreamTaskQueue::take(natsMsg* raw) {
  Message msg(raw);
  const std::string_view subject = natsMsg_GetSubject(raw);
  const std::string id(natsMsg_GetData(raw), static_cast<std::size_t>(natsMsg_GetDataLength(raw)));
  const auto priority = priority_of_subject(options_.stream.subject_prefix, subject);
  jsMsgMetaData* meta = nullptr;
  if (!priority || !is_task_id(id) || natsMsg_GetMetaData(&meta, raw) != NATS_OK) {
    spdlog::warn("task queue: dropping a message that names no task on {}", subject);
    natsMsg_Term(raw, nullptr);
    return;
  }
  Held held;
  held.priority = *priority;
  held.stream_seq = meta->Sequence.Stream;
  held.published_ms = ms_from_ns(meta->Timestamp);
  jsMsgMetaData_Destroy(meta);
  const char* type = nullptr;
  if (natsMsgHeader_Get(raw, kTypeHeader, &type) == NATS_OK && type != nullptr) held.type = type;
  const std::int64_t now = options_.now_ms();
  held.touched_ms = now;
  std::lock_guard lock(mutex_);
  if (!was_leading_ || stopped_) {
    natsMsg_Nak(raw, nullptr);
    return;
  }
  if (abandoned_.contains(id)) {
    natsMsg_Term(raw, nullptr);  // its submission failed or named an earlier task
    return;
  }
  auto found = held_.find(id);
  if (found != held_.end()) {
    // Delivered again while held (its ack wait ran out before an InProgress got there):
    // the newest delivery is the one to ack.
    found->second.msg = std::move(msg);
    found->second.touched_ms = now;
    return;
  }
  held.msg = std::move(msg);
  ready_.emplace(-held.priority, held.stream_seq, id);
  held_.emplace(id, std::move(held));
}

void JetStreamTaskQueue::wake_leases() {
  for (auto& waiter : lease_waiters_) {
    auto copy = waiter;
    Wake::complete(std::move(copy), true);
  }
  lease_waiters_.clear();
}

void JetStreamTaskQueue::unready(const std::string& id) {
  auto found = held_.find(id);
  if (found == held_.end()) return;
  ready_.erase({-found->second.priority, found->second.stream_seq, id});
}

void JetStreamTaskQueue::finish(std::map<std::string, Held>::iterator it,
                                const Judgement& judgement) {
  natsMsg* msg = it->second.msg.get();
  switch (judgement.action) {
    case Delivery::ack:
      natsMsg_Ack(msg, nullptr);
      break;
    case Delivery::term:
      natsMsg_Term(msg, nullptr);
      break;
    case Delivery::nak:
    case Delivery::lease:
      natsMsg_NakWithDelay(msg, judgement.delay_ms, nullptr);
      break;
  }
  if (it->second.state == State::leased && !it->second.type.empty()) {
    if (--leased_by_type_[it->second.type] <= 0) leased_by_type_.erase(it->second.type);
  }
  ready_.erase({-it->second.priority, it->second.stream_seq, it->first});
  held_.erase(it);
  pump_cv_.notify_all();
}

void JetStreamTaskQueue::release_all() {
  // Leased messages are sent back too: their attempts go on (the worker reports to the new
  // leader's gateway, which has the record), and the message, redelivered there, is judged
  // against the record (running: back when its lease ends; done: acked).
  for (auto it = held_.begin(); it != held_.end();) {
    natsMsg_Nak(it->second.msg.get(), nullptr);
    it = held_.erase(it);
  }
  ready_.clear();
  leased_by_type_.clear();
}

asio::awaitable<void> JetStreamTaskQueue::tick_loop() {
  asio::steady_timer timer(co_await asio::this_coro::executor);
  for (;;) {
    {
      std::lock_guard lock(mutex_);
      if (stopped_) co_return;
    }
    housekeep(options_.now_ms());
    timer.expires_after(options_.tick);
    co_await timer.async_wait(net::use_nothrow);
  }
}

void JetStreamTaskQueue::housekeep(std::int64_t now) {
  const bool leading_now = leading();
  std::lock_guard lock(mutex_);
  if (leading_now != was_leading_) {
    spdlog::info("task queue: {} pulling from JetStream", leading_now ? "started" : "stopped");
    if (!leading_now) release_all();
    was_leading_ = leading_now;
    pump_cv_.notify_all();
    wake_leases();
  }
  const std::int64_t keep_alive = options_.stream.ack_wait.count() / 3;
  for (auto it = held_.begin(); it != held_.end();) {
    auto& held = it->second;
    if (held.state == State::leased && held.lease_until_ms + options_.tick.count() < now) {
      // The store's reaper makes the attempt a lease_expired failure; the message comes
      // back when the retry is due.
      auto next = std::next(it);
      finish(it, after_expired_lease(held.attempts));
      it = next;
      continue;
    }
    if (held.touched_ms + keep_alive < now) {
      natsMsg_InProgress(held.msg.get(), nullptr);
      held.touched_ms = now;
    }
    ++it;
  }
  std::erase_if(abandoned_,
                [&](const auto& entry) { return entry.second + 2 * kOrphanAfterMs < now; });
}

// --- clients -------------------------------------------------------------------------------

// Asynchronous: libnats pipelines the publishes of every submission in flight on one
// connection, and on_publish_ack completes each one's wait.
asio::awaitable<bool> JetStreamTaskQueue::publish(const TaskRecord& record, Deadline deadline) {
  const std::string subject = priority_subject(options_.stream.subject_prefix, record.priority);
  natsMsg* raw = nullptr;
  if (natsMsg_Create(&raw, subject.c_str(), nullptr, record.id.data(),
                     static_cast<int>(record.id.size())) != NATS_OK) {
    co_return false;
  }
  natsMsgHeader_Set(raw, kTypeHeader, record.type.c_str());
  auto done = net::Completion<bool>::on(co_await asio::this_coro::executor);
  {
    std::lock_guard lock(mutex_);
    publishing_[record.id] = done;
  }
  jsPubOptions options;
  jsPubOptions_Init(&options);
  options.MsgId = record.id.c_str();  // a publish sent twice is stored once
  options.ExpectStream = options_.stream.stream.c_str();
  const auto status = js_PublishMsgAsync(publisher_.get(), &raw, &options);
  if (status != NATS_OK) {
    natsMsg_Destroy(raw);  // still ours when the call failed
    spdlog::warn("task queue: publishing task {} failed: {}", record.id,
                 natsStatus_GetText(status));
    std::lock_guard lock(mutex_);
    publishing_.erase(record.id);
    co_return false;
  }
  auto acked = co_await done->wait(deadline);
  std::lock_guard lock(mutex_);
  publishing_.erase(record.id);
  co_return acked.value_or(false);
}

void JetStreamTaskQueue::on_publish_ack(jsCtx*, natsMsg* msg, jsPubAck* ack, jsPubAckErr* error,
                                        void* closure) {
  auto* self = static_cast<JetStreamTaskQueue*>(closure);
  const char* id = nullptr;
  if (natsMsgHeader_Get(msg, "Nats-Msg-Id", &id) == NATS_OK && id != nullptr) {
    const bool stored = ack != nullptr && error == nullptr;
    if (!stored && error != nullptr) {
      spdlog::warn("task queue: JetStream did not store task {}: {}", id,
                   error->ErrText != nullptr ? error->ErrText : natsStatus_GetText(error->Err));
    }
    std::lock_guard lock(self->mutex_);
    auto found = self->publishing_.find(id);
    if (found != self->publishing_.end()) {
      auto waiter = found->second;
      net::Completion<bool>::complete(std::move(waiter), stored);
    }
  }
  natsMsg_Destroy(msg);
}

asio::awaitable<QueueResult<Submitted>> JetStreamTaskQueue::submit(const SubmitSpec& spec,
                                                                   Deadline deadline) {
  if (!leading()) co_return failure<Submitted>(not_leader());
  TaskRecord record = records_->prepare(spec);
  const std::string id = record.id;
  {
    std::lock_guard lock(mutex_);
    submitting_.insert(id);
  }
  // Message first: a record that exists always has its message. A message whose record
  // never comes (the write below failed) is terminated when delivered (judge_delivery).
  const bool published = co_await publish(record, deadline);
  if (!published) {
    std::lock_guard lock(mutex_);
    submitting_.erase(id);
    abandoned_.emplace(id, options_.now_ms());
    co_return failure<Submitted>(
        {StoreErrorCode::unavailable, "the task queue (NATS JetStream) did not take the task", {}});
  }
  auto submitted = co_await records_->submit_prepared(spec, std::move(record), deadline);
  std::lock_guard lock(mutex_);
  submitting_.erase(id);
  const bool written = submitted.ok() && !submitted.value->duplicate;
  if (!written && (submitted.ok() || submitted.error.code != StoreErrorCode::unknown_outcome)) {
    // A duplicate (idempotency key used before) or a write refused: no record will come.
    abandoned_.emplace(id, options_.now_ms());
    auto found = held_.find(id);
    if (found != held_.end() && found->second.state == State::buffered) {
      finish(found, {Delivery::term, 0});
    }
  }
  wake_leases();
  co_return submitted;
}

asio::awaitable<QueueResult<TaskRecord>> JetStreamTaskQueue::get(const std::string& id,
                                                                 Deadline deadline) {
  co_return co_await records_->get(id, deadline);
}

asio::awaitable<QueueResult<TaskPage>> JetStreamTaskQueue::list(std::optional<TaskStatus> status,
                                                                const std::string& after,
                                                                std::size_t limit,
                                                                Deadline deadline) {
  co_return co_await records_->list(status, after, limit, deadline);
}

asio::awaitable<QueueResult<TaskRecord>> JetStreamTaskQueue::cancel(const std::string& id,
                                                                    Deadline deadline) {
  // The record says cancelled; its message, when delivered, is acked (judge_delivery).
  auto cancelled = co_await records_->cancel(id, deadline);
  if (cancelled.ok()) {
    std::lock_guard lock(mutex_);
    auto found = held_.find(id);
    if (found != held_.end() && found->second.state == State::buffered) {
      finish(found, {Delivery::ack, 0});
    }
  }
  co_return cancelled;
}

asio::awaitable<QueueResult<TaskRecord>> JetStreamTaskQueue::wait_settled(const std::string& id,
                                                                          Deadline deadline) {
  co_return co_await records_->wait_settled(id, deadline);
}

// --- workers -------------------------------------------------------------------------------

asio::awaitable<QueueResult<std::vector<TaskRecord>>> JetStreamTaskQueue::lease(
    const LeaseAsk& asked, Deadline deadline) {
  if (!leading()) co_return failure<std::vector<TaskRecord>>(not_leader());
  LeaseAsk ask = asked;
  ask.max = std::clamp(ask.max, 1, 256);
  ask.visibility_ms = std::clamp<std::int64_t>(ask.visibility_ms, 1000, 600'000);
  const auto wait_until = std::min(deadline, SteadyClock::now() + ask.wait);
  for (;;) {
    std::vector<std::string> picked;
    {
      std::lock_guard lock(mutex_);
      if (stopped_) co_return QueueResult<std::vector<TaskRecord>>{std::vector<TaskRecord>{}, {}};
      std::map<std::string, int> taking;  // by type, in this pick
      for (auto it = ready_.begin();
           it != ready_.end() && picked.size() < static_cast<std::size_t>(ask.max);) {
        const std::string& id = std::get<2>(*it);
        auto& held = held_.at(id);
        const int limit =
            options_.max_running && !held.type.empty() ? options_.max_running(held.type) : 0;
        const auto running = leased_by_type_.find(held.type);
        const int busy =
            (running == leased_by_type_.end() ? 0 : running->second) + taking[held.type];
        if (submitting_.contains(id) || (limit > 0 && busy >= limit)) {
          ++it;
          continue;
        }
        ++taking[held.type];
        held.state = State::granting;
        picked.push_back(id);
        it = ready_.erase(it);
      }
    }
    if (!picked.empty()) {
      auto granted = co_await records_->grant(picked, ask, deadline);
      std::vector<std::string> refused;
      {
        std::lock_guard lock(mutex_);
        std::set<std::string> got;
        for (const auto& record : granted) {
          got.insert(record.id);
          auto found = held_.find(record.id);
          if (found == held_.end()) continue;  // released meanwhile (leadership moved)
          auto& held = found->second;
          held.state = State::leased;
          held.token = record.lease;
          held.type = record.type;
          held.lease_until_ms = record.lease_until_ms;
          held.attempts = record.attempts;
          held.max_attempts = record.max_attempts;
          ++leased_by_type_[record.type];
        }
        for (const auto& id : picked) {
          if (!got.contains(id)) refused.push_back(id);
        }
      }
      if (!refused.empty()) co_await judge(std::move(refused), deadline);
      if (!granted.empty()) co_return QueueResult<std::vector<TaskRecord>>{std::move(granted), {}};
    }
    const auto now = SteadyClock::now();
    if (now >= wait_until || !leading()) {
      co_return QueueResult<std::vector<TaskRecord>>{std::vector<TaskRecord>{}, {}};
    }
    auto waiter = Wake::on(co_await asio::this_coro::executor);
    {
      std::lock_guard lock(mutex_);
      if (stopped_) continue;
      lease_waiters_.push_back(waiter);
    }
    co_await waiter->wait(std::min(wait_until, now + options_.tick * 5));
    std::lock_guard lock(mutex_);
    std::erase(lease_waiters_, waiter);
  }
}

asio::awaitable<void> JetStreamTaskQueue::judge(std::vector<std::string> ids, Deadline deadline) {
  for (const auto& id : ids) {
    auto read = co_await records_->get(id, deadline);
    const std::int64_t now = options_.now_ms();
    std::lock_guard lock(mutex_);
    auto found = held_.find(id);
    if (found == held_.end()) continue;
    Judgement judgement{Delivery::nak, 1000};
    if (read.ok()) {
      judgement = judge_delivery(read.value, now, now - found->second.published_ms);
    } else if (read.error.code == StoreErrorCode::not_found) {
      judgement = judge_delivery(std::nullopt, now, now - found->second.published_ms);
    }
    if (judgement.action == Delivery::lease) {
      // Leasable after all (another write moved the record between the read and the CAS):
      // offered again.
      found->second.state = State::buffered;
      ready_.emplace(-found->second.priority, found->second.stream_seq, id);
      continue;
    }
    finish(found, judgement);
  }
}

asio::awaitable<QueueResult<Settled>> JetStreamTaskQueue::extend(
    const std::string& worker, const std::vector<LeaseRef>& leases, std::int64_t visibility_ms,
    Deadline deadline) {
  auto settled = co_await records_->extend(worker, leases, visibility_ms, deadline);
  if (!settled.ok()) co_return settled;
  const std::int64_t now = options_.now_ms();
  const std::int64_t visibility = std::clamp<std::int64_t>(visibility_ms, 1000, 600'000);
  std::set<std::string> done(settled.value->done.begin(), settled.value->done.end());
  std::lock_guard lock(mutex_);
  for (const auto& ref : leases) {
    auto found = held_.find(ref.id);
    if (!done.contains(ref.id) || found == held_.end() || found->second.token != ref.lease) {
      continue;
    }
    found->second.lease_until_ms = std::max(found->second.lease_until_ms, now + visibility);
    natsMsg_InProgress(found->second.msg.get(), nullptr);  // its ack wait starts again
    found->second.touched_ms = now;
  }
  co_return settled;
}

asio::awaitable<QueueResult<Settled>> JetStreamTaskQueue::complete(
    const std::string& worker, const std::vector<AttemptResult>& results, Deadline deadline) {
  auto settled = co_await records_->complete(worker, results, deadline);
  if (!settled.ok()) co_return settled;
  std::set<std::string> done(settled.value->done.begin(), settled.value->done.end());
  std::lock_guard lock(mutex_);
  for (const auto& result : results) {
    auto found = held_.find(result.id);
    if (found == held_.end() || found->second.state != State::leased ||
        found->second.token != result.lease) {
      continue;  // not held here: a redelivery will find the record final and ack it
    }
    const auto& held = found->second;
    finish(found, done.contains(result.id)
                      ? after_attempt(result.ok, result.permanent, held.attempts, held.max_attempts)
                      : Judgement{Delivery::nak, 0});
  }
  pump_cv_.notify_all();
  co_return settled;
}

asio::awaitable<QueueResult<bool>> JetStreamTaskQueue::heartbeat(const WorkerReport& report,
                                                                 Deadline deadline) {
  co_return co_await records_->heartbeat(report, deadline);
}

asio::awaitable<QueueResult<bool>> JetStreamTaskQueue::bye(const std::string& worker,
                                                           Deadline deadline) {
  {
    std::lock_guard lock(mutex_);
    wake_leases();
  }
  co_return co_await records_->bye(worker, deadline);
}

asio::awaitable<QueueResult<bool>> JetStreamTaskQueue::request_drain(const std::string& worker,
                                                                     Deadline deadline) {
  co_return co_await records_->request_drain(worker, deadline);
}

QueueStats JetStreamTaskQueue::stats() const {
  auto stats = records_->stats();
  std::lock_guard lock(mutex_);
  stats.dispatching = was_leading_;
  return stats;
}

std::size_t JetStreamTaskQueue::held() const {
  std::lock_guard lock(mutex_);
  return held_.size();
}

// --- dead letters --------------------------------------------------------------------------

void JetStreamTaskQueue::on_max_deliveries(std::string_view advisory) {
  auto parsed = parse_max_deliveries(advisory);
  if (!parsed) return;
  {
    std::lock_guard lock(mutex_);
    if (stopped_) return;
  }
  asio::co_spawn(
      executor_,
      [self = shared_from_this(), parsed = *parsed]() -> asio::awaitable<void> {
        co_await self->dead_letter_seq(parsed.stream_seq, parsed.deliveries);
      },
      asio::detached);
}

asio::awaitable<void> JetStreamTaskQueue::dead_letter_seq(std::uint64_t seq,
                                                          std::int64_t deliveries) {
  // Every gateway hears the advisory; the one that leads the store writes the record.
  if (!leading()) co_return;
  const auto deadline = SteadyClock::now() + std::chrono::seconds(5);
  std::function<std::string()> lookup = [this, seq] {
    natsMsg* raw = nullptr;
    jsErrCode code = static_cast<jsErrCode>(0);
    if (js_GetMsg(&raw, js_.get(), options_.stream.stream.c_str(), seq, nullptr, &code) !=
        NATS_OK) {
      return std::string();
    }
    Message msg(raw);
    return std::string(natsMsg_GetData(raw), static_cast<std::size_t>(natsMsg_GetDataLength(raw)));
  };
  auto id = co_await off_thread<std::string>(*blocking_, std::move(lookup), deadline);
  if (!id || !is_task_id(*id)) co_return;
  const std::int64_t now = options_.now_ms();
  std::vector<std::pair<std::string, std::string>> attempts{{*id, std::string()}};
  auto settled = co_await records_->settle(
      attempts,
      [&](const TaskRecord& record, std::size_t) { return dead_letter(record, deliveries, now); },
      deadline);
  spdlog::warn("task {} dead-lettered: JetStream delivered it {} times (recorded: {})", *id,
               deliveries, settled.ok() && !settled.value->done.empty());
  // The message stays in a work-queue stream after its last delivery: removed here once
  // the record is final (dead now, or finished before), never while the store did not answer.
  if (!settled.ok()) co_return;
  std::function<bool()> remove = [this, seq] {
    jsErrCode code = static_cast<jsErrCode>(0);
    return js_DeleteMsg(js_.get(), options_.stream.stream.c_str(), seq, nullptr, &code) == NATS_OK;
  };
  co_await off_thread<bool>(*blocking_, std::move(remove), deadline);
}

}  // namespace isla::tasks::jetstream
