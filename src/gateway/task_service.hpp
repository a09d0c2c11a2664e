#pragma once
// Everything a gateway does for tasks, in one place: the task types it checks submissions
// against, the queue (kept in the island store; dispatching where this gateway leads the
// store), the task routes, the metrics, and the status a dashboard shows.
#include <boost/json.hpp>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "clocks/event_log.hpp"
#include "gateway/task_autoscaler.hpp"
#include "net/http_client.hpp"
#include "net/router.hpp"
#include "store/leadership.hpp"
#include "store/store.hpp"

namespace prometheus {
class Registry;
}

namespace isla::gateway {

struct TaskServiceOptions {
  std::string task_dir;  // external task manifests; empty: compiled-in types only
  // Runs the autoscaler where this gateway leads the store (isla up asks for it).
  std::optional<TaskAutoscaleOptions> autoscale;
  // NATS servers (nats://host:port each) whose JetStream dispatches the tasks (issue 14);
  // empty: the embedded queue in the island store.
  std::vector<std::string> nats_servers;
};

class TaskService {
 public:
  TaskService(store::Store& store, const store::StoreLeadership& leadership,
              const net::HttpClient& client, clocks::EventLog& events,
              prometheus::Registry& metrics, TaskServiceOptions options);
  ~TaskService();

  void add_routes(net::Router& router);
  void start(asio::any_io_executor executor);
  void stop();
  // Refreshes the gauges (before a /metrics scrape).
  void update_metrics();
  // For /api/status: queue depth per state, throughput, workers.
  boost::json::object status_json() const;

 private:
  struct Parts;
  std::unique_ptr<Parts> parts_;
};

}  // namespace isla::gateway
