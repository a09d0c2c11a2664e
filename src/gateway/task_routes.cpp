#include "gateway/task_routes.hpp"

#include <spdlog/spdlog.h>

#include <atomic>
#include <set>

#include "clocks/event_json.hpp"
#include "core/parse.hpp"
#include "gateway/submit_batch_wire.hpp"
#include "store/store_http.hpp"
#include "tasks/queue/task_api_json.hpp"
#include "tasks/queue/task_keys.hpp"
#include "tasks/queue/worker_record.hpp"

namespace isla::gateway {

namespace json = boost::json;
using net::HttpRequest;
using net::HttpResponse;
using tasks::ApiError;

// GCC 12's false -Wmismatched-new-delete on inlined Asio coroutine frames (as in
// event_log_routes.cpp).
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

namespace {

constexpr std::size_t kMaxListLimit = 1000;
constexpr auto kEventsPoll = std::chrono::milliseconds(250);

HttpResponse json_ok(int status, const json::object& body) {
  return net::json_response(status, json::serialize(body));
}

HttpResponse bad_request(const ApiError& error) {
  json::object body{{"error", net::valid_utf8(error.message)}};
  if (!error.field.empty()) {
    body["field"] = net::valid_utf8(error.field);
    body["rule"] = net::valid_utf8(error.rule);
  }
  return json_ok(400, body);
}

json::object task_body(const tasks::TaskRecord& record, bool duplicate = false) {
  auto body = tasks::public_json(record);
  if (duplicate) body["duplicate"] = true;
  return body;
}

// The cursor of an events stream: the last store revision and event-log id handed out.
struct Cursor {
  store::Revision revision = 0;
  std::uint64_t event = 0;
};

std::string format_cursor(const Cursor& cursor) {
  return std::to_string(cursor.revision) + "." + std::to_string(cursor.event);
}

std::optional<Cursor> parse_cursor(std::string_view text) {
  const auto dot = text.find('.');
  if (dot == std::string_view::npos) return std::nullopt;
  auto revision = core::parse_integer<store::Revision>(text.substr(0, dot));
  auto event = core::parse_integer<std::uint64_t>(text.substr(dot + 1));
  if (!revision || !event || *revision < 0) return std::nullopt;
  return Cursor{*revision, *event};
}

// "tasks,membership", its comma maybe percent-encoded.
std::optional<std::set<std::string, std::less<>>> parse_topics(std::string_view raw) {
  const auto text = net::percent_decode(raw);
  if (!text) return std::nullopt;
  std::set<std::string, std::less<>> topics;
  std::string_view rest = *text;
  while (!rest.empty()) {
    const auto comma = rest.find(',');
    const std::string_view topic = rest.substr(0, comma);
    if (topic != "tasks" && topic != "membership") return std::nullopt;
    topics.emplace(topic);
    rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
  }
  if (topics.empty()) return std::nullopt;
  return topics;
}

std::string sse(std::string_view type, const Cursor& cursor, const json::value& data) {
  return "id: " + format_cursor(cursor) + "\nevent: " + std::string(type) +
         "\ndata: " + json::serialize(data) + "\n\n";
}

class TaskApi {
 public:
  TaskApi(TaskRouteDeps deps, TaskRoutesOptions options)
      : deps_(deps),
        options_(options),
        forwarder_(std::make_shared<SubmitForwarder>(
            [&client = deps.client](const core::Endpoint& to, const HttpRequest& request,
                                    store::Deadline deadline) {
              return client.request(to, request, deadline);
            },
            options.forward_batching)) {}

  // --- clients -------------------------------------------------------------------------

  asio::awaitable<HttpResponse> types(HttpRequest&, std::string_view) {
    co_return json_ok(200, deps_.catalog.describe());
  }

  asio::awaitable<HttpResponse> submit(HttpRequest& request, std::string_view) {
    auto parsed = tasks::parse_submit(request.body, deps_.catalog);
    if (auto* error = std::get_if<ApiError>(&parsed)) co_return bad_request(*error);
    const auto& body = std::get<tasks::SubmitBody>(parsed);
    auto submitted = co_await deps_.queue.submit(body.spec, request.deadline);
    if (!submitted.ok() && !body.sync && batched_forward(request, submitted.error)) {
      // A synchronous submission goes alone (below): the leader's gateway waits for its end.
      const std::string leader = submitted.error.leader_address;
      auto answer = co_await forwarder_->forward(leader, request.body, request.deadline);
      if (answer.status < 500) answer.headers.emplace_back("Isla-Leader", leader);
      co_return answer;
    }
    if (!submitted.ok()) co_return co_await failed(request, submitted.error);
    const auto& task = submitted.value->task;
    if (!body.sync || tasks::is_terminal(task.status)) {
      co_return json_ok(body.sync ? 200 : (submitted.value->duplicate ? 200 : 202),
                        task_body(task, submitted.value->duplicate));
    }
    const auto until = std::min(request.deadline, std::chrono::steady_clock::now() + body.wait);
    auto settled = co_await deps_.queue.wait_settled(task.id, until);
    if (!settled.ok()) co_return json_ok(202, task_body(task, submitted.value->duplicate));
    co_return json_ok(tasks::is_terminal(settled.value->status) ? 200 : 202,
                      task_body(*settled.value, submitted.value->duplicate));
  }

  // At the leader's gateway: the asynchronous submissions a follower gateway received, each
  // answered as submit() would have (the follower checked the caller's role: this route is
  // for nodes only). They enter the queue together, so that they share its group commit.
  asio::awaitable<HttpResponse> submit_batch(HttpRequest& request, std::string_view) {
    auto batch = decode_submit_batch(request.body);
    if (!batch) {
      co_return net::json_error(400,
                                "the body must be {\"submissions\": [{\"timeout_ms\": N, "
                                "\"task\": {...}}, ...]}");
    }
    const auto executor = co_await asio::this_coro::executor;
    const auto now = std::chrono::steady_clock::now();
    using Answer = net::Completion<HttpResponse>;
    std::vector<HttpResponse> answers(batch->size());
    std::vector<std::shared_ptr<Answer>> waiting(batch->size());
    for (std::size_t i = 0; i < batch->size(); ++i) {
      auto& submission = (*batch)[i];
      auto parsed = tasks::parse_submit_value(std::move(submission.task), deps_.catalog);
      if (auto* error = std::get_if<ApiError>(&parsed)) {
        answers[i] = bad_request(*error);
        continue;
      }
      auto& body = std::get<tasks::SubmitBody>(parsed);
      if (body.sync) {
        answers[i] = net::json_error(400, "a synchronous submission is forwarded alone");
        continue;
      }
      const auto deadline =
          std::min(request.deadline, now + std::chrono::milliseconds(submission.timeout_ms));
      waiting[i] = Answer::on(executor);
      asio::co_spawn(
          executor,
          [this, spec = std::move(body.spec), deadline,
           done = waiting[i]]() mutable -> asio::awaitable<void> {
            auto answer = co_await submit_one(spec, deadline);
            Answer::complete(std::move(done), std::move(answer));
          },
          asio::detached);
    }
    for (std::size_t i = 0; i < batch->size(); ++i) {
      if (!waiting[i]) continue;
      auto answered = co_await waiting[i]->wait(request.deadline);
      if (answered) {
        answers[i] = std::move(*answered);
      } else {
        answers[i] = store::error_response(
            {store::StoreErrorCode::unknown_outcome,
             "time ran out before the submission's write committed; it may or may not have "
             "been applied",
             {}});
      }
    }
    auto encoded = encode_submit_answers(answers);
    auto response = net::json_response(200, std::move(encoded));
    co_return response;
  }

  asio::awaitable<HttpResponse> get(HttpRequest& request, std::string_view tail) {
    if (!tasks::is_task_id(tail))
      co_return net::json_error(400, "not a task id: " + net::valid_utf8(tail));
    const std::string id(tail);
    auto task = co_await deps_.queue.get(id, request.deadline);
    if (!task.ok()) co_return store::error_response(task.error);
    co_return json_ok(200, task_body(*task.value));
  }

  asio::awaitable<HttpResponse> list(HttpRequest& request, std::string_view) {
    std::optional<tasks::TaskStatus> status;
    if (auto raw = net::query_param(request.query(), "status")) {
      status = tasks::task_status_from(*raw);
      if (!status) {
        co_return bad_request({"status: must be queued, running, done, dead or cancelled", "status",
                               "must name a task state"});
      }
    }
    std::size_t limit = 100;
    if (auto raw = net::query_param(request.query(), "limit")) {
      auto parsed = core::parse_integer<std::size_t>(*raw);
      if (!parsed || *parsed < 1 || *parsed > kMaxListLimit) {
        co_return bad_request(
            {"limit: must be an integer in [1, 1000]", "limit", "must be an integer in [1, 1000]"});
      }
      limit = *parsed;
    }
    std::string after;
    if (auto raw = net::query_param(request.query(), "after")) {
      if (!tasks::is_task_id(*raw)) {
        co_return bad_request({"after: must be a task id", "after", "must be a task id"});
      }
      after = std::string(*raw);
    }
    auto page = co_await deps_.queue.list(status, after, limit, request.deadline);
    if (!page.ok()) co_return store::error_response(page.error);
    json::array items;
    for (const auto& task : page.value->tasks) items.push_back(task_body(task));
    json::object body{{"tasks", std::move(items)}};
    body["next"] = page.value->next.empty() ? json::value(nullptr) : json::value(page.value->next);
    co_return json_ok(200, body);
  }

  asio::awaitable<HttpResponse> cancel(HttpRequest& request, std::string_view tail) {
    if (!tasks::is_task_id(tail))
      co_return net::json_error(400, "not a task id: " + net::valid_utf8(tail));
    const std::string id(tail);
    auto cancelled = co_await deps_.queue.cancel(id, request.deadline);
    if (!cancelled.ok()) co_return co_await failed(request, cancelled.error);
    co_return json_ok(200, task_body(*cancelled.value));
  }

  // --- workers -------------------------------------------------------------------------

  asio::awaitable<HttpResponse> lease(HttpRequest& request, std::string_view) {
    auto parsed = tasks::parse_lease(request.body);
    if (auto* error = std::get_if<ApiError>(&parsed)) co_return bad_request(*error);
    const auto& ask = std::get<tasks::LeaseAsk>(parsed);
    auto leased = co_await deps_.queue.lease(ask, request.deadline);
    if (!leased.ok()) co_return co_await failed(request, leased.error);
    co_return json_ok(200, tasks::leased_json(*leased.value));
  }

  asio::awaitable<HttpResponse> extend(HttpRequest& request, std::string_view) {
    auto parsed = tasks::parse_extend(request.body);
    if (auto* error = std::get_if<ApiError>(&parsed)) co_return bad_request(*error);
    const auto& body = std::get<tasks::ExtendBody>(parsed);
    auto settled =
        co_await deps_.queue.extend(body.worker, body.leases, body.visibility_ms, request.deadline);
    if (!settled.ok()) co_return co_await failed(request, settled.error);
    json::array extended(settled.value->done.begin(), settled.value->done.end());
    json::array lost(settled.value->lost.begin(), settled.value->lost.end());
    co_return json_ok(200, {{"extended", std::move(extended)}, {"lost", std::move(lost)}});
  }

  asio::awaitable<HttpResponse> complete(HttpRequest& request, std::string_view) {
    auto parsed = tasks::parse_complete(request.body);
    if (auto* error = std::get_if<ApiError>(&parsed)) co_return bad_request(*error);
    const auto& body = std::get<tasks::CompleteBody>(parsed);
    auto settled = co_await deps_.queue.complete(body.worker, body.results, request.deadline);
    if (!settled.ok()) co_return co_await failed(request, settled.error);
    co_return json_ok(200, tasks::settled_json(*settled.value));
  }

  asio::awaitable<HttpResponse> heartbeat(HttpRequest& request, std::string_view) {
    auto parsed = tasks::parse_heartbeat(request.body);
    if (auto* error = std::get_if<ApiError>(&parsed)) co_return bad_request(*error);
    const auto& report = std::get<tasks::WorkerReport>(parsed);
    auto drain = co_await deps_.queue.heartbeat(report, request.deadline);
    if (!drain.ok()) co_return co_await failed(request, drain.error);
    co_return json_ok(200, {{"drain", *drain.value}});
  }

  asio::awaitable<HttpResponse> bye(HttpRequest& request, std::string_view) {
    auto parsed = tasks::parse_bye(request.body);
    if (auto* error = std::get_if<ApiError>(&parsed)) co_return bad_request(*error);
    const auto& worker = std::get<std::string>(parsed);
    auto done = co_await deps_.queue.bye(worker, request.deadline);
    if (!done.ok()) co_return co_await failed(request, done.error);
    spdlog::info("task worker left worker={}", worker);
    co_return json_ok(200, {{"worker", worker}, {"left", true}});
  }

  // --- events ----------------------------------------------------------------------------

  asio::awaitable<HttpResponse> events(HttpRequest& request, std::string_view) {
    std::set<std::string, std::less<>> topics{"tasks", "membership"};
    if (auto raw = net::query_param(request.query(), "topics")) {
      auto parsed = parse_topics(*raw);
      if (!parsed) {
        co_return bad_request({"topics: each must be tasks or membership", "topics",
                               "must be a comma-separated list of tasks, membership"});
      }
      topics = std::move(*parsed);
    }
    Cursor cursor;
    bool resumed = false;
    if (auto last = request.header("Last-Event-ID")) {
      auto parsed = parse_cursor(*last);
      if (!parsed) {
        co_return bad_request({"Last-Event-ID: must be a cursor this stream sent (REVISION.EVENT)",
                               "Last-Event-ID", "must be REVISION.EVENT"});
      }
      cursor = *parsed;
      resumed = true;
    }
    if (subscribers_->fetch_add(1) >= options_.max_subscribers) {
      subscribers_->fetch_sub(1);
      auto refused =
          net::json_error(503, "this gateway serves " + std::to_string(options_.max_subscribers) +
                                   " event subscribers already; try another gateway or later");
      refused.headers.emplace_back("Retry-After", "1");
      co_return refused;
    }
    if (!resumed) {
      // A new subscriber starts with what happens from now on.
      auto now = co_await deps_.store.range(std::string(tasks::kTaskPrefix) + "~", false,
                                            store::Consistency::serializable, request.deadline);
      cursor.revision = now.ok() ? now.value->revision : 0;
      auto latest = deps_.events.since(0);
      cursor.event = latest.empty() ? 0 : latest.back().id;
      for (const auto& event : latest) cursor.event = std::max(cursor.event, event.id);
    }
    co_return stream(std::move(topics), cursor, request.remote);
  }

 private:
  struct StreamState {
    std::set<std::string, std::less<>> topics;
    Cursor cursor;
    std::string remote;
    std::shared_ptr<void> slot;
    std::chrono::steady_clock::time_point next_keepalive;
    bool done = false;
    bool greeted = false;
  };

  HttpResponse stream(std::set<std::string, std::less<>> topics, Cursor cursor,
                      std::string remote) {
    auto slot = std::shared_ptr<void>(subscribers_.get(),
                                      [count = subscribers_](void*) { count->fetch_sub(1); });
    auto state = std::make_shared<StreamState>(
        StreamState{std::move(topics), cursor, std::move(remote), std::move(slot),
                    std::chrono::steady_clock::now() + options_.keepalive, false, false});
    HttpResponse response;
    response.content_type = "text/event-stream";
    response.headers.emplace_back("Cache-Control", "no-cache");
    response.headers.emplace_back("Isla-Events-From", format_cursor(cursor));
    response.stream =
        [this, state](net::StreamBacklog& backlog) -> asio::awaitable<std::optional<std::string>> {
      if (state->done) co_return std::nullopt;
      if (!state->greeted) {
        // Tells the subscriber its subscription is live: what happens from now on reaches it.
        state->greeted = true;
        co_return ": subscribed from " + format_cursor(state->cursor) + "\n\n";
      }
      std::string chunk;
      const auto now = std::chrono::steady_clock::now();
      if (state->topics.contains("tasks")) {
        auto watched = co_await deps_.store.watch(std::string(tasks::kTasksPrefix),
                                                  state->cursor.revision + 1, now + kEventsPoll);
        if (!watched.ok() || watched.value->compacted) {
          state->done = true;
          co_return sse(
              "error", state->cursor,
              json::object{{"error", watched.ok() ? "the events asked for are gone; "
                                                    "read the tasks again and subscribe "
                                                    "afresh"
                                                  : net::valid_utf8(watched.error.message)},
                           {"resume_from", format_cursor(state->cursor)}});
        }
        for (const auto& event : watched.value->events) {
          state->cursor.revision = event.kv.mod_revision;
          append_store_event(chunk, event, state->cursor);
        }
        state->cursor.revision = std::max(state->cursor.revision, watched.value->next - 1);
      } else {
        asio::steady_timer timer(co_await asio::this_coro::executor, kEventsPoll);
        co_await timer.async_wait(net::use_nothrow);
      }
      for (const auto& event : deps_.events.since(state->cursor.event)) {
        state->cursor.event = std::max(state->cursor.event, event.id);
        // Scaling decisions reach every gateway's subscribers through the store instead.
        if (event.kind != "scaling" && state->topics.contains("membership")) {
          chunk += sse("membership", state->cursor, clocks::to_json(event));
        }
      }
      if (backlog.would_exceed(chunk.size(), options_.max_unread_bytes)) {
        state->done = true;
        const std::size_t unread = backlog.unsent_bytes();
        spdlog::warn("events subscriber cut off remote={} unread_bytes={}", state->remote, unread);
        co_return sse("error", state->cursor,
                      json::object{{"error", "subscriber too slow: " + std::to_string(unread) +
                                                 " bytes unread"},
                                   {"resume_from", format_cursor(state->cursor)}});
      }
      if (chunk.empty() && std::chrono::steady_clock::now() >= state->next_keepalive) {
        chunk = ": keep-alive\n\n";
      }
      if (!chunk.empty()) state->next_keepalive = now + options_.keepalive;
      co_return chunk;
    };
    return response;
  }

  static void append_store_event(std::string& chunk, const store::Event& event,
                                 const Cursor& cursor) {
    const std::string& key = event.kv.key;
    if (key.starts_with(tasks::kTaskPrefix) && event.type == store::Event::Type::put) {
      if (auto record = tasks::decode_record(event.kv.value)) {
        chunk += sse("task", cursor, tasks::public_json(*record));
      }
    } else if (key.starts_with(tasks::kScalingPrefix) && event.type == store::Event::Type::put) {
      json::error_code ec;
      auto decision = json::parse(event.kv.value, ec);
      if (!ec) chunk += sse("scaling", cursor, decision);
    } else if (key.starts_with(tasks::kWorkerPrefix)) {
      const std::string worker = key.substr(tasks::kWorkerPrefix.size());
      if (event.type == store::Event::Type::del) {
        chunk += sse("worker", cursor, json::object{{"worker", worker}, {"state", "left"}});
      } else if (event.kv.version == 1) {
        chunk += sse("worker", cursor, json::object{{"worker", worker}, {"state", "joined"}});
      }
    }
  }

  // One submission of a batch, answered as submit() answers an asynchronous one.
  asio::awaitable<HttpResponse> submit_one(const tasks::SubmitSpec& spec,
                                           store::Deadline deadline) {
    auto submitted = co_await deps_.queue.submit(spec, deadline);
    if (!submitted.ok()) {
      auto refused = store::error_response(submitted.error);
      co_return refused;
    }
    const bool duplicate = submitted.value->duplicate;
    const auto body = task_body(submitted.value->task, duplicate);
    auto answer = json_ok(duplicate ? 200 : 202, body);
    co_return answer;
  }

  // Whether a submission this gateway cannot serve goes to the leader's gateway in a batch:
  // when a client sent it here (a forwarded one that met a stale leader goes on alone).
  static bool batched_forward(const HttpRequest& request, const store::StoreError& error) {
    return error.code == store::StoreErrorCode::not_leader && !error.leader_address.empty() &&
           !request.header(net::kHopsHeader);
  }

  // Not served here: the leader's gateway runs the queue.
  asio::awaitable<HttpResponse> failed(HttpRequest& request, const store::StoreError& error) {
    auto answer =
        co_await store::forward_to_leader(deps_.client, request, error, options_.max_hops);
    // Names the gateway that served it, so that a worker can call it directly next time.
    if (error.code == store::StoreErrorCode::not_leader && !error.leader_address.empty() &&
        answer.status < 500) {
      answer.headers.emplace_back("Isla-Leader", error.leader_address);
    }
    co_return answer;
  }

  TaskRouteDeps deps_;
  TaskRoutesOptions options_;
  std::shared_ptr<SubmitForwarder> forwarder_;
  std::shared_ptr<std::atomic<std::size_t>> subscribers_ =
      std::make_shared<std::atomic<std::size_t>>(0);
};

}  // namespace

void add_task_routes(net::Router& router, TaskRouteDeps deps, TaskRoutesOptions options) {
  auto api = std::make_shared<TaskApi>(deps, options);
  using net::Access;
  using store::bind;
  router.get("/api/task-types", "task_types", Access::read, bind(api, &TaskApi::types));
  router.add("POST", "/api/tasks", false, "task_submit", Access::write,
             bind(api, &TaskApi::submit));
  router.add("POST", std::string(kSubmitBatchPath), false, "task_submit_batch", Access::node,
             bind(api, &TaskApi::submit_batch));
  router.get("/api/tasks", "task_list", Access::read, bind(api, &TaskApi::list));
  router.get_prefix("/api/tasks/", "task_get", Access::read, bind(api, &TaskApi::get));
  router.add("DELETE", "/api/tasks/", true, "task_cancel", Access::write,
             bind(api, &TaskApi::cancel));
  router.get("/api/events", "events", Access::read, bind(api, &TaskApi::events));
  router.add("POST", "/internal/tasks/lease", false, "task_lease", Access::node,
             bind(api, &TaskApi::lease));
  router.add("POST", "/internal/tasks/extend", false, "task_extend", Access::node,
             bind(api, &TaskApi::extend));
  router.add("POST", "/internal/tasks/complete", false, "task_complete", Access::node,
             bind(api, &TaskApi::complete));
  router.add("POST", "/internal/workers/heartbeat", false, "worker_heartbeat", Access::node,
             bind(api, &TaskApi::heartbeat));
  router.add("POST", "/internal/workers/bye", false, "worker_bye", Access::node,
             bind(api, &TaskApi::bye));
}

}  // namespace isla::gateway
