#include "tasks/worker/http_task_source.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "rpc/call.hpp"
#include "tasks/worker/worker_wire.hpp"

namespace isla::tasks {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

struct HttpTaskSource::Gateway {
  Gateway(core::Endpoint at, core::BackoffOptions options, core::Random& random)
      : endpoint(std::move(at)), backoff(options, random) {}
  core::Endpoint endpoint;
  core::Backoff backoff;
  Clock::time_point skip_until{};  // unreachable: not asked before then (unless all are)
  bool reported_down = false;      // logged once per outage, not per call
  std::string last_refusal;        // the refusal logged last
};

HttpTaskSource::HttpTaskSource(HttpTaskSourceOptions options)
    : options_(std::move(options)), random_(core::seed_from_device()) {
  if (options_.gateways.empty()) throw std::invalid_argument("no gateway to lease tasks from");
  for (const auto& endpoint : options_.gateways) {
    gateways_.push_back(std::make_unique<Gateway>(endpoint, options_.backoff, random_));
  }
}

HttpTaskSource::~HttpTaskSource() = default;

SourceCounters HttpTaskSource::counters() const {
  std::lock_guard lock(mutex_);
  return counters_;
}

void HttpTaskSource::interrupt_leasing() {
  std::lock_guard lock(mutex_);
  interrupted_ = true;
  if (polling_ != nullptr) polling_->stop();
}

std::unique_ptr<asio::io_context> HttpTaskSource::borrow_context() {
  {
    std::lock_guard lock(mutex_);
    if (!idle_contexts_.empty()) {
      auto context = std::move(idle_contexts_.back());
      idle_contexts_.pop_back();
      context->restart();
      return context;
    }
  }
  return std::make_unique<asio::io_context>(1);
}

void HttpTaskSource::give_back(std::unique_ptr<asio::io_context> context) {
  std::lock_guard lock(mutex_);
  idle_contexts_.push_back(std::move(context));
}

std::vector<std::size_t> HttpTaskSource::order() {
  std::lock_guard lock(mutex_);
  const auto now = Clock::now();
  std::vector<std::size_t> up;
  std::vector<std::size_t> down;
  for (std::size_t i = 0; i < gateways_.size(); ++i) {
    const auto index = (preferred_ + i) % gateways_.size();
    (gateways_[index]->skip_until <= now ? up : down).push_back(index);
  }
  // All down: ask the one due soonest anyway, so a call is never a no-op.
  if (up.empty()) {
    up.push_back(*std::min_element(down.begin(), down.end(), [&](auto a, auto b) {
      return gateways_[a]->skip_until < gateways_[b]->skip_until;
    }));
  }
  return up;
}

HttpTaskSource::Attempt HttpTaskSource::attempt(const core::Endpoint& gateway,
                                                const std::string& target, const std::string& body,
                                                milliseconds timeout, bool interruptible,
                                                std::string* answer, std::string* leader) {
  rpc::CallOptions call_options;
  call_options.deadline = Clock::now() + timeout;
  auto request = rpc::make_request("POST", target, body, call_options);
  // Every Worker API call names the lease or worker it is about, so a resend is harmless,
  // except a lease, whose lost answer costs its tasks a visibility timeout: not resent.
  request.idempotent = !interruptible;
  auto context = borrow_context();
  {
    std::lock_guard lock(mutex_);
    if (interruptible) {
      if (interrupted_) {
        idle_contexts_.push_back(std::move(context));
        return Attempt::interrupted;
      }
      polling_ = context.get();
    }
  }
  net::HttpClient client(options_.client);
  std::optional<net::ClientResult> result;
  asio::co_spawn(
      *context,
      [&]() -> asio::awaitable<void> {
        result = co_await client.request(gateway, request, call_options.deadline);
      },
      asio::detached);
  context->run();
  if (interruptible) {
    std::lock_guard lock(mutex_);
    polling_ = nullptr;
  }
  // Stopped before the answer came: the connection closes with the context.
  if (!result) return Attempt::interrupted;
  give_back(std::move(context));
  if (!result->ok()) {
    *answer = result->message;
    return Attempt::unreachable;
  }
  if (result->response->status != 200) {
    *answer = "HTTP " + std::to_string(result->response->status) + ": " +
              rpc::error_message_of(*result->response);
    return Attempt::refused;
  }
  // A gateway that handed the call on to the store leader's gateway (which runs the queue)
  // says which one that is: the next calls go there directly, a hop shorter.
  if (leader != nullptr) {
    if (auto hint = result->response->header("Isla-Leader")) *leader = std::string(*hint);
  }
  *answer = std::move(result->response->body);
  return Attempt::answered;
}

std::optional<HttpTaskSource::Reply> HttpTaskSource::call(const std::string& target,
                                                          const std::string& body,
                                                          milliseconds timeout,
                                                          bool interruptible) {
  const auto candidates = order();
  bool first = true;
  for (const auto index : candidates) {
    auto& gateway = *gateways_[index];
    std::string answer;
    std::string leader;
    const auto outcome =
        attempt(gateway.endpoint, target, body, timeout, interruptible, &answer, &leader);
    std::lock_guard lock(mutex_);
    switch (outcome) {
      case Attempt::interrupted:
        return std::nullopt;
      case Attempt::answered:
        if (gateway.reported_down) {
          spdlog::info("gateway={} answers again", gateway.endpoint.str());
        }
        gateway.backoff.reset();
        gateway.skip_until = {};
        gateway.reported_down = false;
        gateway.last_refusal.clear();
        if (!first) ++counters_.failovers;
        preferred_ = index;
        for (std::size_t other = 0; other < gateways_.size() && !leader.empty(); ++other) {
          if (gateways_[other]->endpoint.str() == leader) preferred_ = other;
        }
        return Reply{std::move(answer)};
      case Attempt::unreachable:
        ++counters_.unreachable;
        gateway.skip_until = Clock::now() + gateway.backoff.next();
        if (!gateway.reported_down) {
          spdlog::warn("gateway={} call={} unreachable ({}); trying another",
                       gateway.endpoint.str(), target, answer);
        }
        gateway.reported_down = true;
        break;
      case Attempt::refused:
        ++counters_.refused;
        // Said once until it changes: a refusal repeats with every retry (a 401 from a
        // gateway that has a secret this worker lacks would otherwise go unseen or flood).
        if (answer != gateway.last_refusal) {
          spdlog::warn("gateway={} call={} refused: {}", gateway.endpoint.str(), target, answer);
          gateway.last_refusal = answer;
        }
        break;
    }
    first = false;
  }
  return std::nullopt;
}

std::optional<std::vector<LeasedTask>> HttpTaskSource::lease(const LeaseRequest& request) {
  auto reply = call("/internal/tasks/lease", wire::lease_body(options_.worker, request),
                    request.wait + options_.poll_margin, true);
  if (!reply) return std::nullopt;
  std::string error;
  auto answer = wire::parse_lease_answer(reply->body, &error);
  if (!answer) {
    spdlog::warn("lease answer unusable: {}", error);
    return std::nullopt;
  }
  for (const auto& why : answer->skipped) spdlog::warn("lease answer: skipped: {}", why);
  return std::move(answer->tasks);
}

std::optional<IdVerdicts> HttpTaskSource::extend(const std::vector<LeaseRef>& leases,
                                                 milliseconds visibility) {
  auto reply =
      call("/internal/tasks/extend", wire::extend_body(options_.worker, leases, visibility),
           options_.call_timeout, false);
  if (!reply) return std::nullopt;
  std::string error;
  auto verdicts = wire::parse_id_verdicts(reply->body, "extended", &error);
  if (!verdicts) spdlog::warn("extend answer unusable: {}", error);
  return verdicts;
}

std::optional<IdVerdicts> HttpTaskSource::complete(const std::vector<TaskResult>& results) {
  auto reply = call("/internal/tasks/complete", wire::complete_body(options_.worker, results),
                    options_.call_timeout, false);
  if (!reply) return std::nullopt;
  std::string error;
  auto verdicts = wire::parse_id_verdicts(reply->body, "recorded", &error);
  if (!verdicts) spdlog::warn("complete answer unusable: {}", error);
  return verdicts;
}

std::optional<bool> HttpTaskSource::heartbeat(const WorkerStats& stats) {
  auto reply = call("/internal/workers/heartbeat",
                    wire::heartbeat_body(options_.worker, stats, options_.pid),
                    options_.call_timeout, false);
  if (!reply) return std::nullopt;
  std::string error;
  auto drain = wire::parse_heartbeat_answer(reply->body, &error);
  if (!drain) spdlog::warn("heartbeat answer unusable: {}", error);
  return drain;
}

bool HttpTaskSource::bye() {
  return call("/internal/workers/bye", wire::bye_body(options_.worker), options_.call_timeout,
              false)
      .has_value();
}

}  // namespace isla::tasks
