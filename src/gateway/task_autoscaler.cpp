#include "gateway/task_autoscaler.hpp"

#include <spdlog/spdlog.h>

#include "core/child_process.hpp"
#include "net/lifecycle.hpp"
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
        launcher(launcher_options(options)),
        driver(options.flags.config(), launcher, {}) {}

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
    const auto decision = driver.evaluate(steady_ms(), std::move(workers), sample);
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
  autoscale::LocalProcessLauncher launcher;
  autoscale::ScalerDriver driver;
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
