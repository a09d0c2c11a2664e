#pragma once
// The task API on a gateway (docs/tasks.md): clients submit, read, list and cancel tasks;
// workers lease, extend, complete and report; subscribers follow /api/events. What this
// gateway cannot serve (it does not lead the store, which runs the queue) goes to the
// leader's gateway as it came, one hop further; asynchronous submissions go there in
// batches (submit_forwarder.hpp), which the leader's gateway takes on a node-only route.
#include <functional>
#include <memory>

#include "clocks/event_log.hpp"
#include "gateway/submit_forwarder.hpp"
#include "net/http_client.hpp"
#include "net/router.hpp"
#include "store/store.hpp"
#include "tasks/queue/task_queue.hpp"
#include "tasks/types/task_type.hpp"

namespace isla::gateway {

struct TaskRoutesOptions {
  int max_hops = 2;
  std::size_t max_subscribers = 256;
  std::size_t max_unread_bytes = 1 << 20;  // a subscriber further behind is cut off
  std::chrono::milliseconds keepalive{15'000};
  SubmitForwarderOptions forward_batching;  // asynchronous submissions sent to the leader
};

struct TaskRouteDeps {
  tasks::TaskQueue& queue;
  const tasks::TaskCatalog& catalog;
  store::Store& store;             // the events feed watches the queue's records
  const clocks::EventLog& events;  // membership and scaling events
  const net::HttpClient& client;   // to forward to the leader
};

void add_task_routes(net::Router& router, TaskRouteDeps deps, TaskRoutesOptions options = {});

}  // namespace isla::gateway
