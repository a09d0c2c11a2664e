#pragma once
// The autoscaler on a gateway: once a second, where this gateway leads the island store, it
// samples the queue and the workers and lets the ScalerDriver start or drain workers. Each
// decision goes to the gateway's event log and to the store (so every gateway's
// /api/events streams it as `event: scaling`).
#include <memory>
#include <string>
#include <vector>

#include "clocks/event_log.hpp"
#include "store/leadership.hpp"
#include "store/store.hpp"
#include "tasks/autoscale/autoscale_flags.hpp"
#include "tasks/queue/task_queue.hpp"

namespace isla::gateway {

struct TaskAutoscaleOptions {
  tasks::autoscale::AutoscaleFlags flags;
  std::vector<std::string> gateways;  // the workers' --gateway list
  std::string secret_file;            // the workers' --secret-file (empty: none)
  std::string task_dir;               // the workers' --task-dir (empty: none)
  std::string node_name;              // prefixes the ids of the workers started here
  std::string log_dir;                // their logs
};

class TaskAutoscaler {
 public:
  TaskAutoscaler(store::Store& store, const store::StoreLeadership& leadership,
                 tasks::TaskQueue& queue, clocks::EventLog& events, TaskAutoscaleOptions options);
  ~TaskAutoscaler();

  void start(asio::any_io_executor executor);
  void stop();

 private:
  struct Parts;
  std::shared_ptr<Parts> parts_;
};

}  // namespace isla::gateway
