#include "gateway/task_autoscaler.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/thread_pool.hpp>

#include "core/child_process.hpp"
#include "net/lifecycle.hpp"
#include "tasks/autoscale/kubernetes_launcher.hpp"
#include "tasks/autoscale/local_process_launcher.hpp"
#include "tasks/autoscale/scaler_driver.hpp"
#include "tasks/queue/task_keys.hpp"

namespace isla::gateway {

namespace json = boost::json;
namespace autoscale = tasks::autoscale;

// GCC 12's false -Wmismatched-new-delete on inlined Asio coroutine frames (as in
// event_log_routes.cpp).
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

namespace {

constexpr auto kEvaluateEvery = std::chrono::seconds(1);
constexpr auto kWriteBudget = std::chrono::seconds(2);

autoscale::LocalLauncherOptions launcher_options(const TaskAutoscaleOptions& options) {
  autoscale::WorkerCommand command;
  command.program = core::self_executable();
  command.gateways = options.gateways;
  command.concurrency = options.flags.worker_concurrency;
  command.secret_file = options.secret_file;
  if (!options.task_dir.empty()) command.extra_args = {"--task-dir", options.task_dir};
  autoscale::LocalLauncherOptions launcher;
  launcher.command = [command](const std::string& id) { return command.argv_for(id); };
  launcher.id_prefix = options.node_name;
  launcher.log_dir = options.log_dir;
  launcher.stop_grace = std::chrono::seconds(5);
  return launcher;
}

std::unique_ptr<autoscale::Launcher> make_launcher(const TaskAutoscaleOptions& options) {
  if (options.flags.launcher == "k8s") {
    return std::make_unique<autoscale::KubernetesLauncher>(
        autoscale::kubernetes_launcher_options(options.flags));
  }
  return std::make_unique<autoscale::LocalProcessLauncher>(launcher_options(options));
}

std::chrono::milliseconds steady_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now().time_since_epoch());
}

}  // namespace

struct TaskAutoscaler::Parts {
  Parts(store::Store& store_in, const store::StoreLeadership& leadership_in,
        tasks::TaskQueue& queue_in, clocks::EventLog& events_in,
        const TaskAutoscaleOptions& options)
      : store(store_in),
        leadership(leadership_in),
        queue(queue_in),
        events(events_in),
        launcher(make_launcher(options)),
        driver(options.flags.config(), *launcher, {}) {
    // The Kubernetes launcher waits on the API server (bounded, but seconds at worst): its
    // calls get a thread of their own, never the gateway's event loop.
    if (options.flags.launcher == "k8s") blocking = std::make_unique<asio::thread_pool>(1);
  }
  ~Parts() {
    if (blocking) blocking->join();
  }

  autoscale::Decision decide(std::vector<autoscale::WorkerSample> workers,
                             const autoscale::QueueSample& sample) {
    return driver.evaluate(steady_ms(), std::move(workers), sample);
  }

  // One evaluation: sample, decide, apply, report.
  asio::awaitable<void> evaluate() {
    const bool leading = leadership.leading();
    if (leading != driver.leading()) {
      if (leading) {
        driver.on_gained_leadership(steady_ms());
      } else {
        driver.on_lost_leadership();
      }
    }
    if (!leading) co_return;
    const auto stats = queue.stats();
    std::vector<autoscale::WorkerSample> workers;
    for (const auto& worker : stats.workers) {
      workers.push_back({worker.report.worker, worker.report.concurrency, worker.report.busy,
                         worker.report.draining || worker.drain_requested, false});
    }
    autoscale::QueueSample sample;
    sample.ready = static_cast<int>(stats.ready);
    sample.running =
        static_cast<int>(stats.by_status[static_cast<int>(tasks::TaskStatus::running)]);
    sample.oldest_wait_ms = stats.oldest_ready_ms == 0
                                ? 0.0
                                : static_cast<double>(std::max<std::int64_t>(
                                      0, core::wall_clock_ms() - stats.oldest_ready_ms));
    autoscale::Decision decision;
    if (blocking) {
      decision = co_await asio::co_spawn(
          blocking->get_executor(),
          [this, &workers, &sample]() -> asio::awaitable<autoscale::Decision> {
            co_return decide(std::move(workers), sample);
          },
          asio::use_awaitable);
    } else {
      decision = decide(std::move(workers), sample);
    }
    if (decision.kind == autoscale::DecisionKind::none) co_return;
    auto detail = decision.to_json();
    spdlog::info("autoscaler: {}", json::serialize(detail));
    events.record_local("scaling", detail);
    const auto deadline = std::chrono::steady_clock::now() + kWriteBudget;
    if (decision.kind == autoscale::DecisionKind::scale_down && !decision.worker.empty()) {
      co_await queue.request_drain(decision.worker, deadline);
    }
    detail["at_ms"] = core::wall_clock_ms();
    co_await store.txn(
        store::put_txn(std::string(tasks::kScalingPrefix) + "last", json::serialize(detail)),
        deadline);
  }

  store::Store& store;
  const store::StoreLeadership& leadership;
  tasks::TaskQueue& queue;
  clocks::EventLog& events;
  std::unique_ptr<autoscale::Launcher> launcher;
  autoscale::ScalerDriver driver;
  std::unique_ptr<asio::thread_pool> blocking;  // only for the Kubernetes launcher
  std::atomic<bool> stopped{false};
};

TaskAutoscaler::TaskAutoscaler(store::Store& store, const store::StoreLeadership& leadership,
                               tasks::TaskQueue& queue, clocks::EventLog& events,
                               TaskAutoscaleOptions options)
    : parts_(std::make_shared<Parts>(store, leadership, queue, events, options)) {}

TaskAutoscaler::~TaskAutoscaler() {
  stop();
}

void TaskAutoscaler::start(asio::any_io_executor executor) {
  asio::co_spawn(
      executor,
      [parts = parts_]() -> asio::awaitable<void> {
        while (!parts->stopped) {
          co_await parts->evaluate();
          co_await net::sleep_for(kEvaluateEvery);
        }
      },
      asio::detached);
}

void TaskAutoscaler::stop() {
  parts_->stopped = true;
}

}  // namespace isla::gateway
