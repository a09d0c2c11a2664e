// isla task types | run | get | ls | cancel | batch: the task service from the command line
// (docs/tasks.md). Parameters come as key=value words read by the type's schema (see
// app/task_params.hpp); --json prints the gateway's JSON instead of text for people.
#include <fmt/chrono.h>
#include <fmt/format.h>
#include <unistd.h>

#include <atomic>
#include <boost/json.hpp>
#include <chrono>
#include <iostream>
#include <mutex>
#include <thread>

#include "app/client_http.hpp"
#include "app/commands.hpp"
#include "app/server_flags.hpp"
#include "app/table.hpp"
#include "app/task_params.hpp"
#include "net/http_client.hpp"
#include "rpc/call.hpp"

namespace isla::app {

namespace json = boost::json;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

namespace {

struct TaskArgs {
  ClientFlags client;
  std::string type;
  std::string id;
  std::vector<std::string> words;  // key=value
  std::string params_json;
  bool async = false;
  int priority = -1;      // -1: the gateway's default
  int max_attempts = 0;   // 0: the gateway's default
  std::string key;        // idempotency key
  long wait_ms = 30'000;  // run: how long to wait for the result
  std::string status;     // ls
  long limit = 100;       // ls: tasks shown at most
  long count = 100;       // batch
  int concurrency = 8;    // batch: submissions and polls in flight
  long batch_timeout_ms = 600'000;
};

[[noreturn]] void usage(const std::string& message) {
  std::cerr << "isla: " << message << "\n";
  exit_with(kExitUsage);
}

[[noreturn]] void failed(const std::string& message) {
  std::cerr << "isla: " << message << "\n";
  exit_with(kExitFailed);
}

// The type's entry of GET /api/task-types; exits with the known names when there is none.
json::value type_entry(const ClientFlags& flags, const std::string& type) {
  net::HttpRequest request;
  request.target = "/api/task-types";
  auto answer = ask(flags, request, {{200}, true});
  std::string known;
  const auto& types = at(answer.json, "types");
  if (types.is_array()) {
    for (const auto& entry : types.as_array()) {
      if (text(at(entry, "name")) == type) return entry;
      known += (known.empty() ? "" : ", ") + text(at(entry, "name"));
    }
  }
  usage("the island has no task type '" + type + "' (it has: " + known + ")");
}

json::object submission(const TaskArgs& args, bool sync) {
  const auto entry = type_entry(args.client, args.type);
  const auto& schema = at(entry, "params");
  std::string error;
  auto params = build_params(args.params_json, args.words,
                             schema.is_object() ? &schema.as_object() : nullptr, &error);
  if (!params) usage(error);
  json::object body{{"type", args.type}, {"params", std::move(*params)}};
  if (args.priority >= 0) body["priority"] = args.priority;
  if (args.max_attempts > 0) body["max_attempts"] = args.max_attempts;
  if (!args.key.empty()) body["idempotency_key"] = args.key;
  if (sync) {
    body["sync"] = true;
    body["wait_ms"] = args.wait_ms;
  }
  return body;
}

// A 400 for the parameters says which field broke which rule.
[[noreturn]] void refused(const json::value& answer) {
  std::string message = text(at(answer, "error"));
  if (!at(answer, "field").is_null()) {
    message += " (field " + text(at(answer, "field")) + ": " + text(at(answer, "rule")) + ")";
  }
  usage("the gateway refused the task: " + message);
}

std::string errors_text(const json::value& record) {
  std::string out;
  const auto& errors = at(record, "errors");
  if (!errors.is_array()) return out;
  for (const auto& error : errors.as_array()) {
    out +=
        fmt::format("  attempt {} on {}: {}: {}\n", text(at(error, "attempt")),
                    text(at(error, "worker")), text(at(error, "kind")), text(at(error, "error")));
  }
  return out;
}

void task_run(const TaskArgs& args) {
  auto body = submission(args, !args.async);
  net::HttpRequest request;
  request.method = "POST";
  request.target = "/api/tasks";
  request.body = json::serialize(body);
  ClientFlags flags = args.client;
  // A sync submission is answered when the task ends, or after wait_ms.
  if (!args.async) flags.timeout_ms = std::max(flags.timeout_ms, args.wait_ms + 5000);
  auto answer = ask(flags, request, {{200, 202, 400}, true});
  if (answer.status == 400) refused(answer.json);
  const auto& record = answer.json;
  const auto id = text(at(record, "id"));
  const auto status = text(at(record, "status"));
  if (args.client.json) {
    std::cout << answer.body << "\n";
  } else if (args.async) {
    std::cout << id << "\n";
  } else if (status == "done") {
    std::cout << json::serialize(at(record, "result")) << "\n";
  }
  if (args.async || status == "done") return;
  if (status == "dead") failed("task " + id + " is dead:\n" + errors_text(record));
  if (status == "cancelled") failed("task " + id + " was cancelled");
  failed("task " + id + " is still " + status + " after " + std::to_string(args.wait_ms) +
         " ms; follow it with `isla task get " + id + "`");
}

std::string when(const json::value& ms) {
  if (!ms.is_int64() || ms.as_int64() <= 0) return "";
  const auto seconds = static_cast<std::time_t>(ms.as_int64() / 1000);
  std::tm local{};
  localtime_r(&seconds, &local);
  return fmt::format("{:%Y-%m-%d %H:%M:%S}.{:03}", local, ms.as_int64() % 1000);
}

// How long the task took from submission to its end (or until now, while pending).
std::string age(const json::value& record) {
  const auto& submitted = at(record, "submitted_ms");
  const auto& finished = at(record, "finished_ms");
  if (!submitted.is_int64() || submitted.as_int64() <= 0) return "";
  const auto end = finished.is_int64() && finished.as_int64() > 0
                       ? finished.as_int64()
                       : std::chrono::duration_cast<milliseconds>(
                             std::chrono::system_clock::now().time_since_epoch())
                             .count();
  return fmt::format("{:.3f}s", static_cast<double>(end - submitted.as_int64()) / 1000.0);
}

void check_id(const std::string& id) {
  if (id.empty() || id.size() > 64 || !net::is_valid_utf8(id)) usage("not a task id: '" + id + "'");
}

void task_get(const TaskArgs& args) {
  check_id(args.id);
  net::HttpRequest request;
  request.target = "/api/tasks/" + percent_encode(args.id);
  auto answer = ask(args.client, request, {{200, 404}, true});
  if (answer.status == 404) failed("task " + args.id + " not found");
  if (args.client.json) {
    std::cout << answer.body << "\n";
    return;
  }
  const auto& record = answer.json;
  std::vector<std::vector<std::string>> rows{
      {"id", text(at(record, "id"))},
      {"type", text(at(record, "type"))},
      {"status", text(at(record, "status"))},
      {"priority", text(at(record, "priority"))},
      {"attempts", text(at(record, "attempts")) + " of " + text(at(record, "max_attempts"))},
      {"worker", text(at(record, "worker"))},
      {"submitted", when(at(record, "submitted_ms"))},
      {"started", when(at(record, "started_ms"))},
      {"finished", when(at(record, "finished_ms"))},
      {"took", age(record)},
      {"params", json::serialize(at(record, "params"))}};
  if (!at(record, "result").is_null())
    rows.push_back({"result", json::serialize(at(record, "result"))});
  print_table(std::cout, {"FIELD", "VALUE"}, rows);
  const auto errors = errors_text(record);
  if (!errors.empty()) std::cout << "\nerrors:\n" << errors;
}

void task_ls(const TaskArgs& args) {
  json::array tasks;
  std::string after;
  while (static_cast<long>(tasks.size()) < args.limit) {
    const long page = std::min<long>(1000, args.limit - static_cast<long>(tasks.size()));
    net::HttpRequest request;
    request.target = "/api/tasks?limit=" + std::to_string(page);
    if (!args.status.empty()) request.target += "&status=" + percent_encode(args.status);
    if (!after.empty()) request.target += "&after=" + percent_encode(after);
    auto answer = ask(args.client, request, {{200}, true});
    const auto& listed = at(answer.json, "tasks");
    if (listed.is_array()) {
      for (const auto& task : listed.as_array()) tasks.push_back(task);
    }
    const auto& next = at(answer.json, "next");
    if (!next.is_string() || next.as_string().empty() || !listed.is_array() ||
        listed.as_array().empty()) {
      break;
    }
    after = std::string(next.as_string());
  }
  if (args.client.json) {
    std::cout << json::serialize(json::object{{"tasks", tasks}}) << "\n";
    return;
  }
  std::vector<std::vector<std::string>> rows;
  for (const auto& task : tasks) {
    rows.push_back({text(at(task, "id")), text(at(task, "type")), text(at(task, "status")),
                    text(at(task, "attempts")), age(task), text(at(task, "worker"))});
  }
  print_table(std::cout, {"ID", "TYPE", "STATUS", "ATTEMPTS", "TOOK", "WORKER"}, rows);
}

void task_cancel(const TaskArgs& args) {
  check_id(args.id);
  net::HttpRequest request;
  request.method = "DELETE";
  request.target = "/api/tasks/" + percent_encode(args.id);
  auto answer = ask(args.client, request, {{200, 404, 409}, true});
  if (answer.status == 404) failed("task " + args.id + " not found");
  if (answer.status == 409) {
    failed("task " + args.id + " is no longer queued; not cancelled (" +
           text(at(answer.json, "error")) + ")");
  }
  if (args.client.json) {
    std::cout << answer.body << "\n";
  } else {
    std::cout << "cancelled " << args.id << "\n";
  }
}

void task_types(const TaskArgs& args) {
  auto answer = get_json(args.client, "/api/task-types");
  std::vector<std::vector<std::string>> rows;
  const auto& types = at(answer, "types");
  if (types.is_array()) {
    for (const auto& type : types.as_array()) {
      std::string params;
      const auto& schema = at(type, "params");
      if (schema.is_object()) {
        for (const auto& [name, field] : schema.as_object()) {
          const auto& required = at(field, "required");
          params += (params.empty() ? "" : " ") + std::string(name) + ":" +
                    text(at(field, "type")) + (required.is_bool() && required.as_bool() ? "" : "?");
        }
      }
      rows.push_back({text(at(type, "name")), params, text(at(at(type, "limits"), "wall_ms")),
                      text(at(type, "description"))});
    }
  }
  print_table(std::cout, {"TYPE", "PARAMS (?: optional)", "WALL_MS", "DESCRIPTION"}, rows);
}

// --- batch

// One request without exiting on failure: a batch counts what fails and goes on.
std::optional<Answer> try_ask(const ClientFlags& flags, const core::Endpoint& gateway,
                              const net::HttpClientOptions& options, net::HttpRequest request) {
  authorize(flags, request);
  for (int attempt = 0; attempt < 5; ++attempt) {
    auto result = net::fetch(gateway, request, milliseconds(flags.timeout_ms), options);
    if (!result.ok()) return std::nullopt;
    if (result.response->status == 503) {
      std::this_thread::sleep_for(milliseconds(100 << attempt));
      continue;
    }
    boost::system::error_code error;
    auto value = json::parse(result.response->body, error);
    if (error) return std::nullopt;
    return Answer{result.response->status, std::move(result.response->body), std::move(value)};
  }
  return std::nullopt;
}

// Runs `work(i)` for i in [0, count) on `threads` threads.
template <class Work>
void in_parallel(std::size_t count, int threads, Work work) {
  std::atomic<std::size_t> next{0};
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&] {
      for (auto i = next++; i < count; i = next++) work(i);
    });
  }
  for (auto& thread : pool) thread.join();
}

struct Finished {
  std::string status;
  std::int64_t submitted_ms = 0;
  std::int64_t finished_ms = 0;
};

void draw_progress(std::size_t ended, std::size_t total, std::size_t dead, double seconds) {
  constexpr int kWidth = 40;
  const int filled = total == 0 ? kWidth : static_cast<int>(kWidth * ended / total);
  std::cerr << fmt::format("\r[{}{}] {}/{} ended, {} dead, {:.1f} s ", std::string(filled, '#'),
                           std::string(kWidth - filled, '.'), ended, total, dead, seconds)
            << std::flush;
}

void task_batch(const TaskArgs& args) {
  const auto gateway = gateway_endpoint(args.client);
  const auto options = client_options(args.client);
  const auto body = json::serialize(submission(args, false));
  const auto started = Clock::now();
  const auto deadline = started + milliseconds(args.batch_timeout_ms);
  const bool progress = ::isatty(STDERR_FILENO) == 1 && !args.client.json;

  std::vector<std::string> ids(static_cast<std::size_t>(args.count));
  std::atomic<std::size_t> refused{0};
  std::mutex mutex;
  std::string first_refusal;
  in_parallel(ids.size(), args.concurrency, [&](std::size_t i) {
    net::HttpRequest request;
    request.method = "POST";
    request.target = "/api/tasks";
    request.body = body;
    auto answer = try_ask(args.client, gateway, options, request);
    if (answer && (answer->status == 202 || answer->status == 200)) {
      ids[i] = text(at(answer->json, "id"));
      return;
    }
    ++refused;
    std::lock_guard lock(mutex);
    if (first_refusal.empty()) {
      first_refusal =
          answer ? "HTTP " + std::to_string(answer->status) + ": " + text(at(answer->json, "error"))
                 : "no answer from " + gateway.str();
    }
  });
  std::erase(ids, std::string());
  if (ids.empty()) failed("no task was accepted (" + first_refusal + ")");

  // Follows the tasks until each has ended, asking about those still pending each round.
  std::vector<std::optional<Finished>> ended(ids.size());
  std::size_t ended_count = 0;
  std::size_t dead = 0;
  while (ended_count < ids.size() && Clock::now() < deadline) {
    in_parallel(ids.size(), args.concurrency, [&](std::size_t i) {
      {
        std::lock_guard lock(mutex);
        if (ended[i]) return;
      }
      net::HttpRequest request;
      request.target = "/api/tasks/" + percent_encode(ids[i]);
      auto answer = try_ask(args.client, gateway, options, request);
      if (!answer || answer->status != 200) return;
      const auto status = text(at(answer->json, "status"));
      if (status != "done" && status != "dead" && status != "cancelled") return;
      const auto& submitted = at(answer->json, "submitted_ms");
      const auto& finished = at(answer->json, "finished_ms");
      std::lock_guard lock(mutex);
      ended[i] = Finished{status, submitted.is_int64() ? submitted.as_int64() : 0,
                          finished.is_int64() ? finished.as_int64() : 0};
      ++ended_count;
      if (status != "done") ++dead;
    });
    const double seconds = std::chrono::duration<double>(Clock::now() - started).count();
    if (progress) draw_progress(ended_count, ids.size(), dead, seconds);
    if (ended_count < ids.size()) std::this_thread::sleep_for(milliseconds(200));
  }
  if (progress) std::cerr << "\n";

  std::size_t done = 0;
  std::size_t cancelled = 0;
  std::vector<std::int64_t> latencies;
  std::int64_t first_submitted = INT64_MAX;
  std::int64_t last_finished = 0;
  for (const auto& task : ended) {
    if (!task) continue;
    if (task->status == "done") ++done;
    if (task->status == "cancelled") ++cancelled;
    if (task->submitted_ms > 0 && task->finished_ms >= task->submitted_ms) {
      latencies.push_back(task->finished_ms - task->submitted_ms);
      first_submitted = std::min(first_submitted, task->submitted_ms);
      last_finished = std::max(last_finished, task->finished_ms);
    }
  }
  const std::size_t dead_only = dead - cancelled;
  // From the island's own clock: the first submission to the last end.
  const double seconds =
      latencies.empty() ? 0.0 : static_cast<double>(last_finished - first_submitted) / 1000.0;
  const double rate = seconds > 0 ? static_cast<double>(ended_count) / seconds : 0.0;
  const auto p50 = percentile(latencies, 50);
  const auto p99 = percentile(latencies, 99);
  const std::size_t pending = ids.size() - ended_count;
  if (args.client.json) {
    std::cout << json::serialize(json::object{{"submitted", ids.size()},
                                              {"refused", refused.load()},
                                              {"done", done},
                                              {"dead", dead_only},
                                              {"cancelled", cancelled},
                                              {"pending", pending},
                                              {"seconds", seconds},
                                              {"tasks_per_second", rate},
                                              {"p50_ms", p50},
                                              {"p99_ms", p99}})
              << "\n";
  } else {
    const std::vector<std::pair<std::string, std::string>> lines{
        {"submitted", std::to_string(ids.size())},
        {"refused", std::to_string(refused.load())},
        {"done", std::to_string(done)},
        {"dead", std::to_string(dead_only)},
        {"cancelled", std::to_string(cancelled)},
        {"pending", std::to_string(pending)},
        {"seconds", fmt::format("{:.3f}", seconds)},
        {"tasks/s", fmt::format("{:.1f}", rate)},
        {"p50 ms", std::to_string(p50)},
        {"p99 ms", std::to_string(p99)}};
    for (const auto& [name, value] : lines) std::cout << fmt::format("{:<10} {}\n", name, value);
  }
  if (!first_refusal.empty()) std::cerr << "isla: refused submissions: " << first_refusal << "\n";
  if (pending > 0) {
    failed(std::to_string(pending) + " tasks had not ended after " +
           std::to_string(args.batch_timeout_ms) + " ms");
  }
  if (refused > 0 || dead > 0) exit_with(kExitFailed);
}

constexpr auto add_action = &add_client_action<TaskArgs>;

void add_param_options(CLI::App& command, TaskArgs& args) {
  command.add_option("type", args.type, "The task type (isla task types)")->required();
  command.add_option("params", args.words,
                     "Parameters as key=value (read by the type's schema: values=1,2,3 is an "
                     "array, limit=1000 a number) or key:=JSON");
  command.add_option("--params", args.params_json, "Parameters as a JSON object");
  command.add_option("--priority", args.priority, "0-9, higher first")->check(CLI::Range(0, 9));
  command.add_option("--max-attempts", args.max_attempts, "Attempts before the task is dead")
      ->check(CLI::Range(1, 100));
}

}  // namespace

void add_task_command(CLI::App& app) {
  auto* task = app.add_subcommand("task", "Submit, follow and cancel tasks");
  task->require_subcommand(1);

  add_action(*task, "types", "List the task types the island runs", task_types);

  auto [run, run_args] = add_action(*task, "run", "Run a task and print its result", task_run);
  add_param_options(*run, *run_args);
  run->add_flag("--async", run_args->async, "Print the task's id at once instead of waiting");
  run->add_option("--key", run_args->key, "Idempotency key: a resubmission returns the first task");
  run->add_option("--wait-ms", run_args->wait_ms, "Give up waiting for the result after this long")
      ->check(CLI::Range(1L, 300'000L))
      ->capture_default_str();

  auto [get, get_args] = add_action(*task, "get", "Show a task", task_get);
  get->add_option("id", get_args->id, "The task id")->required();

  auto [ls, ls_args] = add_action(*task, "ls", "List tasks, by id", task_ls);
  ls->add_option("--status", ls_args->status, "Only tasks with this status")
      ->check(CLI::IsMember({"queued", "running", "done", "dead", "cancelled"}));
  ls->add_option("--limit", ls_args->limit, "Show at most this many (pages through)")
      ->check(CLI::Range(1L, 1'000'000L))
      ->capture_default_str();

  auto [cancel, cancel_args] = add_action(*task, "cancel", "Cancel a queued task", task_cancel);
  cancel->add_option("id", cancel_args->id, "The task id")->required();

  auto [batch, batch_args] =
      add_action(*task, "batch",
                 "Submit many tasks, follow them to their end, and summarise (throughput, p50/p99)",
                 task_batch);
  add_param_options(*batch, *batch_args);
  batch->add_option("--count", batch_args->count, "Tasks to submit")
      ->check(CLI::Range(1L, 1'000'000L))
      ->capture_default_str();
  batch->add_option("--concurrency", batch_args->concurrency, "Requests in flight")
      ->check(CLI::Range(1, 256))
      ->capture_default_str();
  batch
      ->add_option("--batch-timeout-ms", batch_args->batch_timeout_ms,
                   "Stop following the tasks after this long")
      ->check(CLI::Range(1000L, 86'400'000L))
      ->capture_default_str();
}

}  // namespace isla::app
