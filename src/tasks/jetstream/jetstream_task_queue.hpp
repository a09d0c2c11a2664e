#pragma once
// The task queue on NATS JetStream (`isla gateway --queue nats://...`, issue 14). Records
// stay in the island store, exactly as StoreTaskQueue keeps them (it does the record work
// here: ids, idempotency, leases as compare-and-swaps, results, listing, workers); what
// JetStream replaces is the dispatch: which task a worker gets next and when a task comes
// back. Every task is one message (payload: its id; subject: its priority) in a work-queue
// stream; the gateway that leads the island store pulls them through one durable consumer
// with explicit acks and hands them to workers over the unchanged worker protocol:
//
//   submit    publish (Nats-Msg-Id = task id, deduplicated) then write the record; a
//             message seen before its record's write ended waits for it
//   lease     a buffered message whose record is leasable -> grant_lease (CAS)
//   extend    extend_lease (CAS) + InProgress (the message's ack wait starts again)
//   complete  the record's transition (CAS), then: final -> Ack; retry -> NakWithDelay(backoff)
//   expiry    a lease run out -> NakWithDelay(backoff); the store's reaper records the error
//   crash     a gateway that dies holding messages: JetStream redelivers them after AckWait
//   advisory  MAX_DELIVERIES -> the record becomes dead (dead_letter), the message deleted
//
// The message is never the truth: each delivery is judged against the record
// (judge_delivery), so a duplicate or late message can only be acked or sent back, never
// run a task twice at once or record a second result. See docs/architecture.md.
#include <atomic>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <thread>

#include <boost/asio/thread_pool.hpp>

#include "net/completion.hpp"
#include "tasks/jetstream/nats_client.hpp"
#include "tasks/queue/store_task_queue.hpp"

namespace isla::tasks::jetstream {

struct JetStreamQueueOptions {
  std::vector<std::string> servers;  // nats://host:port each
  StreamSpec stream;                 // replicas: min(3, servers) unless set
  // Messages pulled ahead of the workers' requests (the window within which priorities
  // are honoured and type limits are applied).
  std::size_t prefetch = 512;
  std::size_t blocking_threads = 4;    // stream lookups and deletes (dead letters)
  std::int64_t max_publishing = 8192;  // asynchronous publishes awaiting their acks
  std::chrono::milliseconds tick{100};
  // The store's leader, the limits per type, the clock: as StoreTaskQueue's.
  std::function<Leadership()> leadership;
  std::function<std::int64_t()> now_ms;
  ReadyIndex::RunningLimit max_running;
};

class JetStreamTaskQueue final : public TaskQueue,
                                 public std::enable_shared_from_this<JetStreamTaskQueue> {
 public:
  // `records`: the StoreTaskQueue whose records this queue keeps (started and stopped by
  // this one); its own dispatch is never used.
  JetStreamTaskQueue(std::shared_ptr<StoreTaskQueue> records, JetStreamQueueOptions options);
  ~JetStreamTaskQueue() override;

  // Connects, creates the stream and consumer if needed (throws NatsError when NATS cannot
  // be reached within `connect_timeout`), and starts pulling while this gateway leads.
  void start(asio::any_io_executor executor, std::chrono::milliseconds connect_timeout);
  void stop();

  asio::awaitable<QueueResult<Submitted>> submit(const SubmitSpec& spec,
                                                 Deadline deadline) override;
  asio::awaitable<QueueResult<TaskRecord>> get(const std::string& id, Deadline deadline) override;
  asio::awaitable<QueueResult<TaskPage>> list(std::optional<TaskStatus> status,
                                              const std::string& after, std::size_t limit,
                                              Deadline deadline) override;
  asio::awaitable<QueueResult<TaskRecord>> cancel(const std::string& id,
                                                  Deadline deadline) override;
  asio::awaitable<QueueResult<TaskRecord>> wait_settled(const std::string& id,
                                                        Deadline deadline) override;
  asio::awaitable<QueueResult<std::vector<TaskRecord>>> lease(const LeaseAsk& ask,
                                                              Deadline deadline) override;
  asio::awaitable<QueueResult<Settled>> extend(const std::string& worker,
                                               const std::vector<LeaseRef>& leases,
                                               std::int64_t visibility_ms,
                                               Deadline deadline) override;
  asio::awaitable<QueueResult<Settled>> complete(const std::string& worker,
                                                 const std::vector<AttemptResult>& results,
                                                 Deadline deadline) override;
  asio::awaitable<QueueResult<bool>> heartbeat(const WorkerReport& report,
                                               Deadline deadline) override;
  asio::awaitable<QueueResult<bool>> bye(const std::string& worker, Deadline deadline) override;
  asio::awaitable<QueueResult<bool>> request_drain(const std::string& worker,
                                                   Deadline deadline) override;
  QueueStats stats() const override;

  // What the pump holds right now (for tests and /api/status).
  std::size_t held() const;

 private:
  using Wake = net::Completion<bool>;
  enum class State { buffered, granting, leased };
  // A message this gateway holds, by task id.
  struct Held {
    Message msg;
    int priority = 0;
    std::uint64_t stream_seq = 0;
    std::int64_t published_ms = 0;
    std::int64_t touched_ms = 0;  // its ack wait last (re)started
    State state = State::buffered;
    // While leased: the attempt (its lease token), its end, and what after_attempt needs.
    std::string token;
    std::string type;
    std::int64_t lease_until_ms = 0;
    int attempts = 0;
    int max_attempts = 0;
  };
  using ReadyKey = std::tuple<int, std::uint64_t, std::string>;  // -priority, seq, id

  void pump();  // its own thread: fetches while leading, up to options_.prefetch held
  void take(natsMsg* msg);
  asio::awaitable<void> tick_loop();
  void housekeep(std::int64_t now);
  void release_all();  // this gateway stopped leading: every held message goes back
  void unready(const std::string& id);
  // Under mutex_: sends the message back (or acks it) and forgets it.
  void finish(std::map<std::string, Held>::iterator it, const struct Judgement& judgement);
  asio::awaitable<void> judge(std::vector<std::string> ids, Deadline deadline);
  void on_max_deliveries(std::string_view advisory);
  asio::awaitable<void> dead_letter_seq(std::uint64_t seq, std::int64_t deliveries);
  asio::awaitable<bool> publish(const TaskRecord& record, Deadline deadline);
  // libnats's thread: a publish's acknowledgement (or its failure) for the submit waiting.
  static void on_publish_ack(jsCtx* js, natsMsg* msg, jsPubAck* ack, jsPubAckErr* error,
                             void* closure);
  void wake_leases();
  bool leading() const { return options_.leadership().leading; }
  store::StoreError not_leader() const;

  std::shared_ptr<StoreTaskQueue> records_;
  JetStreamQueueOptions options_;
  asio::any_io_executor executor_;
  std::unique_ptr<asio::thread_pool> blocking_;  // publishes, lookups: libnats blocks

  Connection nc_;
  JetStream js_;
  JetStream publisher_;  // asynchronous publishes, acks to on_publish_ack
  Subscription sub_;
  natsSubscription* advisories_ = nullptr;
  std::thread pump_thread_;

  mutable std::mutex mutex_;  // everything below
  std::condition_variable pump_cv_;
  std::map<std::string, Held> held_;
  std::set<ReadyKey> ready_;
  std::set<std::string> submitting_;  // published, record write not ended yet
  std::map<std::string, std::shared_ptr<net::Completion<bool>>> publishing_;  // awaiting acks
  std::map<std::string, std::int64_t> abandoned_;  // published, never to get a record
  std::map<std::string, int> leased_by_type_;
  std::vector<std::shared_ptr<Wake>> lease_waiters_;
  bool was_leading_ = false;
  bool stopped_ = false;
};

}  // namespace isla::tasks::jetstream
