#include "gateway/task_service.hpp"

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <spdlog/spdlog.h>

#include <array>
#include <deque>
#include <functional>
#include <mutex>

#include "core/random.hpp"
#include "gateway/task_routes.hpp"
#include "tasks/jetstream/jetstream_task_queue.hpp"
#include "tasks/queue/store_task_queue.hpp"
#include "tasks/queue/worker_record.hpp"

namespace isla::gateway {

namespace json = boost::json;
using tasks::TaskStatus;

namespace {

constexpr std::array<TaskStatus, 5> kStatuses{TaskStatus::queued, TaskStatus::running,
                                              TaskStatus::done, TaskStatus::dead,
                                              TaskStatus::cancelled};
constexpr std::int64_t kThroughputWindowMs = 10'000;

prometheus::Histogram::BucketBoundaries latency_buckets() {
  return {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60};
}

// What the queue's changes mean to an operator: counters, wait and run times, a recent
// throughput, and worker comings and goings in the event log (recorded by the gateway
// that dispatches, so that the island's merged log holds each once).
class TaskMetrics final : public tasks::TaskObserver {
 public:
  // `leads`: whether this gateway leads the store (and so dispatches) right now.
  TaskMetrics(prometheus::Registry& registry, clocks::EventLog& events, std::function<bool()> leads)
      : events_(events),
        leads_(std::move(leads)),
        finished_(prometheus::BuildCounter()
                      .Name("isla_tasks_finished_total")
                      .Help("Tasks that reached a final state, by that state")
                      .Register(registry)),
        attempts_(prometheus::BuildCounter()
                      .Name("isla_task_attempts_failed_total")
                      .Help("Attempts that failed (retried or not), by kind")
                      .Register(registry)),
        wait_(prometheus::BuildHistogram()
                  .Name("isla_task_wait_seconds")
                  .Help("From submission (or retry time) to a worker's lease")
                  .Register(registry)
                  .Add({}, latency_buckets())),
        run_(prometheus::BuildHistogram()
                 .Name("isla_task_run_seconds")
                 .Help("From a worker's lease to its recorded result")
                 .Register(registry)
                 .Add({}, latency_buckets())),
        depth_(prometheus::BuildGauge()
                   .Name("isla_tasks")
                   .Help("Tasks in the queue, by state")
                   .Register(registry)),
        workers_(prometheus::BuildGauge()
                     .Name("isla_task_workers")
                     .Help("Workers heartbeating to the island")
                     .Register(registry)
                     .Add({})),
        utilisation_(prometheus::BuildGauge()
                         .Name("isla_task_worker_utilisation")
                         .Help("Busy slots over all workers' slots (0-1)")
                         .Register(registry)
                         .Add({})) {}

  void on_task(const tasks::TaskRecord& record, std::optional<TaskStatus> previous) override {
    if (record.status == TaskStatus::running) {
      const auto ready_at = std::max(record.submitted_ms, record.not_before_ms);
      wait_.Observe(std::max<std::int64_t>(0, record.started_ms - ready_at) / 1000.0);
    }
    if (previous == TaskStatus::running && !record.errors.empty() &&
        record.status != TaskStatus::done) {
      attempts_.Add({{"kind", record.errors.back().kind}}).Increment();
    }
    if (tasks::is_terminal(record.status)) {
      finished_.Add({{"status", tasks::to_string(record.status)}}).Increment();
    }
    if (record.status == TaskStatus::done) {
      run_.Observe(std::max<std::int64_t>(0, record.finished_ms - record.started_ms) / 1000.0);
      std::lock_guard lock(mutex_);
      finishes_.push_back(record.finished_ms);
      while (finishes_.size() > 200'000) finishes_.pop_front();
    }
  }

  void on_worker(const tasks::WorkerState& state, bool gone) override {
    if (!leads_()) return;
    events_.record_local(
        gone ? "worker_left" : (state.report.draining ? "worker_draining" : "worker_joined"),
        json::object{{"worker", state.report.worker}, {"concurrency", state.report.concurrency}});
  }

  double throughput(std::int64_t now_ms) {
    std::lock_guard lock(mutex_);
    while (!finishes_.empty() && finishes_.front() < now_ms - kThroughputWindowMs) {
      finishes_.pop_front();
    }
    return static_cast<double>(finishes_.size()) * 1000.0 / kThroughputWindowMs;
  }

  void update(const tasks::QueueStats& stats) {
    for (auto status : kStatuses) {
      depth_.Add({{"status", tasks::to_string(status)}})
          .Set(static_cast<double>(stats.by_status[static_cast<int>(status)]));
    }
    workers_.Set(static_cast<double>(stats.workers.size()));
    utilisation_.Set(utilisation(stats));
  }

  static double utilisation(const tasks::QueueStats& stats) {
    int slots = 0, busy = 0;
    for (const auto& worker : stats.workers) {
      slots += worker.report.concurrency;
      busy += worker.report.busy;
    }
    return slots == 0 ? 0.0 : static_cast<double>(busy) / slots;
  }

 private:
  clocks::EventLog& events_;
  std::function<bool()> leads_;
  prometheus::Family<prometheus::Counter>& finished_;
  prometheus::Family<prometheus::Counter>& attempts_;
  prometheus::Histogram& wait_;
  prometheus::Histogram& run_;
  prometheus::Family<prometheus::Gauge>& depth_;
  prometheus::Gauge& workers_;
  prometheus::Gauge& utilisation_;
  std::mutex mutex_;
  std::deque<std::int64_t> finishes_;
};

tasks::TaskCatalog load_catalog(const std::string& task_dir) {
  tasks::TaskCatalog catalog;
  tasks::add_builtin_types(catalog);
  if (!task_dir.empty()) tasks::add_external_types(catalog, task_dir);
  return catalog;
}

}  // namespace

struct TaskService::Parts {
  Parts(store::Store& store_in, const store::StoreLeadership& leadership_in,
        const net::HttpClient& client_in, clocks::EventLog& events_in,
        prometheus::Registry& registry, const TaskServiceOptions& options)
      : store(store_in),
        leadership(leadership_in),
        client(client_in),
        events(events_in),
        catalog(load_catalog(options.task_dir)),
        metrics(std::make_shared<TaskMetrics>(registry, events_in,
                                              [this] { return leadership.leading(); })) {
    tasks::StoreTaskQueueOptions queue_options;
    queue_options.leadership = [this] {
      return tasks::Leadership{leadership.leading(), leadership.leader_address()};
    };
    queue_options.now_ms = core::wall_clock_ms;
    queue_options.max_running = [this](std::string_view type) {
      const auto* found = catalog.find(type);
      return found == nullptr ? 0 : found->limits().max_running;
    };
    queue_options.observer = metrics;
    records = std::make_shared<tasks::StoreTaskQueue>(
        store, queue_options, std::make_unique<core::SeededRandom>(core::seed_from_device()));
    queue = records;
    if (!options.nats_servers.empty()) {
      tasks::jetstream::JetStreamQueueOptions nats;
      nats.servers = options.nats_servers;
      nats.stream.replicas = static_cast<int>(std::min<std::size_t>(3, nats.servers.size()));
      nats.leadership = queue_options.leadership;
      nats.now_ms = queue_options.now_ms;
      nats.max_running = queue_options.max_running;
      jetstream = std::make_shared<tasks::jetstream::JetStreamTaskQueue>(records, std::move(nats));
      queue = jetstream;
    }
  }

  store::Store& store;
  const store::StoreLeadership& leadership;
  const net::HttpClient& client;
  clocks::EventLog& events;
  tasks::TaskCatalog catalog;
  std::shared_ptr<TaskMetrics> metrics;
  std::shared_ptr<tasks::StoreTaskQueue> records;  // the tasks' records (and the embedded queue)
  std::shared_ptr<tasks::jetstream::JetStreamTaskQueue> jetstream;  // with --queue nats://...
  std::shared_ptr<tasks::TaskQueue> queue;                          // the one the routes use
  std::unique_ptr<TaskAutoscaler> autoscaler;
};

TaskService::TaskService(store::Store& store, const store::StoreLeadership& leadership,
                         const net::HttpClient& client, clocks::EventLog& events,
                         prometheus::Registry& metrics, TaskServiceOptions options)
    : parts_(std::make_unique<Parts>(store, leadership, client, events, metrics, options)) {
  if (options.autoscale) {
    parts_->autoscaler = std::make_unique<TaskAutoscaler>(store, leadership, *parts_->queue, events,
                                                          *options.autoscale);
  }
}

TaskService::~TaskService() = default;

void TaskService::add_routes(net::Router& router) {
  add_task_routes(router, TaskRouteDeps{*parts_->queue, parts_->catalog, parts_->store,
                                        parts_->events, parts_->client});
}

void TaskService::start(asio::any_io_executor executor) {
  if (parts_->jetstream) {
    // Throws when NATS cannot be reached: the gateway does not start without its queue.
    parts_->jetstream->start(executor, std::chrono::seconds(30));
  } else {
    parts_->records->start(executor);
  }
  if (parts_->autoscaler) parts_->autoscaler->start(executor);
}

void TaskService::stop() {
  if (parts_->autoscaler) parts_->autoscaler->stop();
  if (parts_->jetstream) parts_->jetstream->stop();
  parts_->records->stop();
}

void TaskService::update_metrics() {
  const auto stats = parts_->queue->stats();
  parts_->metrics->update(stats);
}

json::object TaskService::status_json() const {
  const auto stats = parts_->queue->stats();
  json::object depth;
  for (auto status : kStatuses) {
    depth[tasks::to_string(status)] = stats.by_status[static_cast<int>(status)];
  }
  json::array workers;
  for (const auto& worker : stats.workers) workers.push_back(tasks::worker_json(worker));
  json::array scaling;
  for (auto it = stats.scaling.rbegin(); it != stats.scaling.rend(); ++it) {
    json::error_code ec;
    auto decision = json::parse(*it, ec);
    if (!ec) scaling.push_back(std::move(decision));
  }
  return {{"depth", std::move(depth)},
          {"ready", stats.ready},
          {"throughput_per_s", parts_->metrics->throughput(core::wall_clock_ms())},
          {"utilisation", TaskMetrics::utilisation(stats)},
          {"dispatching", stats.dispatching},
          {"workers", std::move(workers)},
          {"scaling", std::move(scaling)},
          {"types", parts_->catalog.all().size()}};
}

}  // namespace isla::gateway
