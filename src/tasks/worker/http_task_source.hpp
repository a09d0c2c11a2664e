#pragma once
// The Worker API over HTTP: signed calls to the gateways named by `isla worker --gateway`,
// failing over among them. The gateway that answered last is asked first; one that cannot
// be reached (refused, timed out) is skipped for a backoff that grows while it stays down;
// one that answers 503 (no store leader, draining) or any other error is passed over for
// the next. Each call tries every gateway at most once; when none answers it returns
// nullopt and the worker decides when to try again.
#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "core/backoff.hpp"
#include "core/endpoint.hpp"
#include "core/random.hpp"
#include "net/asio.hpp"
#include "net/http_client.hpp"
#include "tasks/worker/task_source.hpp"

namespace isla::tasks {

struct HttpTaskSourceOptions {
  std::vector<core::Endpoint> gateways;
  std::string worker;                            // this worker's id, in every body
  net::HttpClientOptions client;                 // its signer (make_node_signer) and TLS
  long pid = 0;                                  // reported in heartbeats
  std::chrono::milliseconds call_timeout{5000};  // every call but the long poll
  // The long poll's own deadline is its wait plus this: a gateway answers an empty list when
  // the wait ends, so only a gateway that is gone makes the call run into it.
  std::chrono::milliseconds poll_margin{3000};
  core::BackoffOptions backoff{std::chrono::milliseconds(200), std::chrono::milliseconds(5000)};
};

// Counts of what the calls met, for logs and tests.
struct SourceCounters {
  std::uint64_t unreachable = 0;  // attempts that got no answer (refused, timed out, broken)
  std::uint64_t refused = 0;      // answers that were errors (503, 4xx, 5xx, not JSON)
  std::uint64_t failovers = 0;    // calls answered by another gateway than the one asked first
};

class HttpTaskSource final : public TaskSource {
 public:
  explicit HttpTaskSource(HttpTaskSourceOptions options);
  ~HttpTaskSource() override;

  std::optional<std::vector<LeasedTask>> lease(const LeaseRequest& request) override;
  std::optional<IdVerdicts> extend(const std::vector<LeaseRef>& leases,
                                   std::chrono::milliseconds visibility) override;
  std::optional<IdVerdicts> complete(const std::vector<TaskResult>& results) override;
  std::optional<bool> heartbeat(const WorkerStats& stats) override;
  bool bye() override;
  void interrupt_leasing() override;

  SourceCounters counters() const;

 private:
  struct Gateway;
  struct Reply {
    std::string body;
  };
  enum class Attempt { answered, unreachable, refused, interrupted };

  // Tries the gateways in turn; the body of the first 200 answer.
  std::optional<Reply> call(const std::string& target, const std::string& body,
                            std::chrono::milliseconds timeout, bool interruptible);
  Attempt attempt(const core::Endpoint& gateway, const std::string& target, const std::string& body,
                  std::chrono::milliseconds timeout, bool interruptible, std::string* answer,
                  std::string* leader = nullptr);
  std::vector<std::size_t> order();  // gateways to try now, best first
  // Each call runs on an io_context of its own, in the calling thread, borrowed from these:
  // a context keeps its client connections open between calls (a new TCP connection per
  // call cost every task two handshakes). A stopped long poll's context is dropped, and its
  // connection closes with it, so the gateway sees the worker hang up.
  std::unique_ptr<asio::io_context> borrow_context();
  void give_back(std::unique_ptr<asio::io_context> context);

  HttpTaskSourceOptions options_;
  core::SeededRandom random_;
  mutable std::mutex mutex_;
  std::vector<std::unique_ptr<Gateway>> gateways_;
  std::size_t preferred_ = 0;
  SourceCounters counters_;
  bool interrupted_ = false;
  asio::io_context* polling_ = nullptr;  // the long poll in progress, to stop it
  std::vector<std::unique_ptr<asio::io_context>> idle_contexts_;
};

}  // namespace isla::tasks
