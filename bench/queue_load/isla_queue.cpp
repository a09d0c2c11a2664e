// The isla half of bench/queue_vs_nats.sh (issue 12), against the task API of docs/tasks.md.
//
//   load      --producers threads, each with --window submissions in flight (one keep-alive
//             connection each, spread over --gateways), POST /api/tasks a `sum` task (async:
//             202 once it is written to the island store) until --tasks are submitted. The
//             consumers are `isla worker` processes the script started. One subscriber on
//             GET /api/events?topics=tasks counts `done` records and takes each one's end to
//             end latency from the record (finished_ms - submitted_ms, island clocks, ms);
//             the run ends when every accepted task is done. It also notes `scaling` events
//             (the autoscaler's decisions) and when the first scale_up came. Before the measured
//             run, warm-up tasks (idempotency key warmup-N, values [0]) are submitted until one is
//             seen done: the event stream is live and a worker is serving.
//   dispatch  one task at a time, synchronously ("sync": true), to an island whose one idle
//             worker waits for work: dispatch = started_ms - submitted_ms of each record.
//
// Prints one JSON line. With --server-pids / --worker-pids, the CPU time those processes
// spent during the measured run.
#include <CLI/CLI.hpp>
#include <atomic>
#include <boost/json.hpp>
#include <chrono>
#include <condition_variable>
#include <fstream>
#include <iostream>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <unordered_set>
#include <vector>

#include "core/endpoint.hpp"
#include "latency_summary.hpp"
#include "net/http_client.hpp"
#include "net/http_stream.hpp"
#include "process_cpu.hpp"

namespace {

using namespace isla;
using namespace isla::bench;
using Clock = std::chrono::steady_clock;

constexpr const char* kTaskBody = R"({"type":"sum","params":{"values":[1,2]}})";

struct Options {
  std::vector<std::string> gateways;
  std::string token_file;
  std::size_t tasks = 20000;
  std::size_t producers = 8;
  std::size_t window = 32;
  std::size_t samples = 200;
  long timeout_s = 120;
  std::vector<int> server_pids;
  std::vector<int> worker_pids;
};

struct Target {
  std::vector<core::Endpoint> gateways;
  std::string authorization;  // "Bearer ..." or empty (an island without a secret)
};

Target target_of(const Options& options) {
  Target target;
  for (const auto& text : options.gateways) {
    auto endpoint = core::parse_endpoint(text, 5235);
    if (!endpoint) throw std::invalid_argument("--gateways: not HOST:PORT: " + text);
    target.gateways.push_back(*endpoint);
  }
  if (!options.token_file.empty()) {
    std::ifstream file(options.token_file);
    std::string token;
    if (!(file >> token))
      throw std::runtime_error("cannot read a token from " + options.token_file);
    target.authorization = "Bearer " + token;
  }
  return target;
}

net::HttpRequest task_request(const Target& target, std::string body) {
  net::HttpRequest request;
  request.method = "POST";
  request.target = "/api/tasks";
  request.headers.emplace_back("Content-Type", "application/json");
  if (!target.authorization.empty())
    request.headers.emplace_back("Authorization", target.authorization);
  request.body = std::move(body);
  return request;
}

double milliseconds_since(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

std::optional<double> number_at(const boost::json::object& record, std::string_view key) {
  const auto* value = record.if_contains(key);
  if (value == nullptr || !value->is_number()) return std::nullopt;
  return value->to_number<double>();
}

// Nulls when there were no samples, so that a report never shows a latency nobody measured.
boost::json::object summary_json(const LatencySummary& summary) {
  if (summary.count == 0) return {{"p50_ms", nullptr}, {"p99_ms", nullptr}, {"max_ms", nullptr}};
  return {{"p50_ms", summary.p50_ms}, {"p99_ms", summary.p99_ms}, {"max_ms", summary.max_ms}};
}

// ------------------------------------------------------------------ the event subscriber

// Counts the `done` task records the event stream carries, once per id.
class DoneCounter {
 public:
  // Warm-up tasks are told apart by their idempotency key (and their values, [0]).
  static bool warm_up(const boost::json::object& record) {
    const auto* key = record.if_contains("idempotency_key");
    if (key && key->is_string() && key->as_string().starts_with("warmup-")) return true;
    const auto* params = record.if_contains("params");
    if (!params || !params->is_object()) return false;
    const auto* values = params->as_object().if_contains("values");
    return values && values->is_array() && values->as_array().size() == 1;
  }

  // Runs on the subscriber thread until stop() or a broken stream.
  void subscribe(const Target& target) {
    net::HttpRequest request;
    request.target = "/api/events?topics=tasks";
    request.headers.emplace_back("Accept", "text/event-stream");
    if (!target.authorization.empty())
      request.headers.emplace_back("Authorization", target.authorization);
    net::StreamOptions options;
    options.idle_timeout = std::chrono::minutes(10);
    net::SseParser parser;
    auto result =
        net::fetch_stream(target.gateways.front(), request, options, [&](std::string_view bytes) {
          return parser.feed(bytes, [&](const net::SseEvent& event) {
            on_event(event);
            return !stopped_.load();
          });
        });
    std::lock_guard lock(mutex_);
    if (result.head && result.head->status / 100 != 2) {
      stream_error_ = "GET /api/events answered " + std::to_string(result.head->status) + ": " +
                      result.head->body;
    } else if (!stopped_) {
      stream_error_ = "event stream ended: " + result.message;
    }
    changed_.notify_all();
  }

  void stop() { stopped_ = true; }

  // Waits until `predicate` holds (under the counter's lock) or `deadline`; false on timeout
  // or when the stream broke.
  template <class Predicate>
  bool wait_until(Clock::time_point deadline, Predicate predicate) {
    std::unique_lock lock(mutex_);
    changed_.wait_until(lock, deadline, [&] { return predicate() || !stream_error_.empty(); });
    return predicate();
  }

  std::size_t warm_up_done() const { return warm_up_done_; }       // under the lock
  std::size_t measured_done() const { return measured_done_; }     // under the lock
  Clock::time_point last_done() const { return last_done_; }       // under the lock
  std::vector<double>& end_to_end_ms() { return end_to_end_ms_; }  // after the run
  std::size_t dead() const { return dead_; }                       // under the lock
  std::string stream_error() {
    std::lock_guard lock(mutex_);
    return stream_error_;
  }
  // The first scale_up decision (docs/tasks.md: `event: scaling`, {"decision", ...}).
  std::optional<Clock::time_point> first_scaling() const { return first_scaling_; }
  boost::json::value first_scaling_event() const { return first_scaling_event_; }
  std::size_t scaling_events() const { return scaling_events_; }
  std::size_t unparsed() const { return unparsed_; }
  std::mutex& mutex() { return mutex_; }

 private:
  void on_event(const net::SseEvent& event) {
    if (event.type != "task" && event.type != "scaling") return;
    boost::system::error_code error;
    auto data = boost::json::parse(event.data, error);
    std::lock_guard lock(mutex_);
    if (error || !data.is_object()) {
      ++unparsed_;
      return;
    }
    if (event.type == "scaling") {
      ++scaling_events_;
      const auto* decision = data.as_object().if_contains("decision");
      const bool scale_up =
          decision && decision->is_string() && decision->as_string() == "scale_up";
      // Only a scale-up the load caused: one that merely brings the pool to its minimum
      // (as the island starts) measures nothing.
      const auto* numbers = data.as_object().if_contains("numbers");
      const auto count = [&](const char* key) {
        const auto* value =
            numbers && numbers->is_object() ? numbers->as_object().if_contains(key) : nullptr;
        return value && value->is_number() ? value->to_number<double>() : 0.0;
      };
      const bool load_driven =
          count("workers") + count("starting") >= std::max(1.0, count("min_workers"));
      if (scale_up && load_driven && !first_scaling_) {
        first_scaling_ = Clock::now();
        first_scaling_event_ = data;
      }
      changed_.notify_all();
      return;
    }
    const auto& record = data.as_object();
    const auto* status = record.if_contains("status");
    const auto* id = record.if_contains("id");
    if (!status || !status->is_string() || !id || !id->is_string()) return;
    if (status->as_string() == "dead") ++dead_;
    if (status->as_string() != "done") return;
    if (!seen_.insert(std::string(id->as_string())).second) return;
    if (warm_up(record)) {
      ++warm_up_done_;
    } else {
      ++measured_done_;
      last_done_ = Clock::now();
      const auto submitted = number_at(record, "submitted_ms");
      const auto finished = number_at(record, "finished_ms");
      if (submitted && finished) end_to_end_ms_.push_back(*finished - *submitted);
    }
    changed_.notify_all();
  }

  std::atomic<bool> stopped_{false};
  std::mutex mutex_;
  std::condition_variable changed_;
  std::unordered_set<std::string> seen_;
  std::size_t warm_up_done_ = 0;
  std::size_t measured_done_ = 0;
  std::size_t dead_ = 0;
  std::size_t unparsed_ = 0;
  Clock::time_point last_done_{};
  std::vector<double> end_to_end_ms_;
  std::string stream_error_;
  std::optional<Clock::time_point> first_scaling_;
  boost::json::value first_scaling_event_;
  std::size_t scaling_events_ = 0;
};

// ------------------------------------------------------------------ the producers

struct Submissions {
  std::atomic<std::size_t> accepted{0};
  std::atomic<std::size_t> errors{0};
  std::mutex mutex;
  std::vector<double> accept_ms;
  std::string first_error;

  void error(const std::string& what) {
    errors.fetch_add(1);
    std::lock_guard lock(mutex);
    if (first_error.empty()) first_error = what;
  }
};

// One producer thread: `window` coroutines on one io_context, sharing its `count` tasks.
void produce(const Target& target, std::size_t producer, std::size_t window, std::size_t count,
             Submissions& out) {
  asio::io_context context(1);
  net::HttpClientOptions client_options;
  client_options.max_idle_per_endpoint = window;
  const net::HttpClient client(client_options);
  std::size_t next = 0;  // only this thread's coroutines touch it
  std::vector<double> accept_ms;
  accept_ms.reserve(count);
  const auto request = task_request(target, kTaskBody);
  for (std::size_t slot = 0; slot < window; ++slot) {
    const auto& gateway = target.gateways[(producer * window + slot) % target.gateways.size()];
    asio::co_spawn(
        context,
        [&, gateway]() -> asio::awaitable<void> {
          while (next < count) {
            ++next;
            const auto sent = Clock::now();
            auto result =
                co_await client.request(gateway, request, sent + std::chrono::seconds(30));
            if (!result.ok()) {
              out.error(gateway.str() + ": " + result.message);
            } else if (result.response->status != 202) {
              out.error(gateway.str() + " answered " + std::to_string(result.response->status) +
                        ": " + result.response->body.substr(0, 200));
            } else {
              accept_ms.push_back(milliseconds_since(sent));
              out.accepted.fetch_add(1);
            }
          }
        },
        asio::detached);
  }
  context.run();
  std::lock_guard lock(out.mutex);
  out.accept_ms.insert(out.accept_ms.end(), accept_ms.begin(), accept_ms.end());
}

// Submits warm-up tasks until the subscriber has seen one done (the stream is live and a
// worker serves); each waits up to 5 s before the next is sent.
void warm_up(const Target& target, DoneCounter& counter, Clock::time_point give_up) {
  for (int n = 0; Clock::now() < give_up; ++n) {
    const boost::json::object body{
        {"type", "sum"},
        {"params", {{"values", boost::json::array{0}}}},
        {"idempotency_key", "warmup-" + std::to_string(::getpid()) + "-" + std::to_string(n)}};
    auto result =
        net::fetch(target.gateways.front(), task_request(target, boost::json::serialize(body)),
                   std::chrono::seconds(10));
    if (!result.ok()) throw std::runtime_error("warm-up task: " + result.message);
    if (result.response->status / 100 != 2) {
      throw std::runtime_error("warm-up task: POST /api/tasks answered " +
                               std::to_string(result.response->status) + ": " +
                               result.response->body);
    }
    const auto wait = std::min(give_up, Clock::now() + std::chrono::seconds(5));
    if (counter.wait_until(wait, [&] { return counter.warm_up_done() > 0; })) return;
    const auto broken = counter.stream_error();
    if (!broken.empty()) throw std::runtime_error(broken);
  }
  throw std::runtime_error("no warm-up task was done in time (are workers running?)");
}

int run_load(const Options& options) {
  const auto target = target_of(options);
  const auto give_up = Clock::now() + std::chrono::seconds(options.timeout_s);
  // Shared with the subscriber thread, which is detached (its blocking read cannot be
  // interrupted; it ends with the process) and so may outlive this function.
  auto shared_counter = std::make_shared<DoneCounter>();
  auto& counter = *shared_counter;
  std::thread([shared_counter, target] { shared_counter->subscribe(target); }).detach();
  warm_up(target, counter, give_up);

  Submissions submissions;
  const double server_cpu_before = cpu_seconds(options.server_pids);
  const double worker_cpu_before = cpu_seconds(options.worker_pids);
  const double own_cpu_before = own_cpu_seconds();
  const auto start = Clock::now();
  std::vector<std::thread> producers;
  for (std::size_t p = 0; p < options.producers; ++p) {
    const std::size_t share =
        options.tasks / options.producers + (p < options.tasks % options.producers ? 1 : 0);
    producers.emplace_back(
        [&, p, share] { produce(target, p, options.window, share, submissions); });
  }
  for (auto& thread : producers) thread.join();
  const auto accepted_at = Clock::now();
  const double accept_seconds = std::chrono::duration<double>(accepted_at - start).count();
  const auto accepted = submissions.accepted.load();
  counter.wait_until(give_up, [&] { return counter.measured_done() >= accepted; });
  const double server_cpu = cpu_seconds(options.server_pids) - server_cpu_before;
  const double worker_cpu = cpu_seconds(options.worker_pids) - worker_cpu_before;
  const double own_cpu = own_cpu_seconds() - own_cpu_before;
  counter.stop();

  std::lock_guard lock(counter.mutex());
  const auto done = counter.measured_done();
  // A task may be seen done a moment before its own 202 arrives.
  const auto end = done > 0 ? std::max(counter.last_done(), accepted_at) : Clock::now();
  const double seconds = std::chrono::duration<double>(end - start).count();
  auto end_to_end = summarize(counter.end_to_end_ms());
  auto accept = summarize(submissions.accept_ms);
  boost::json::value first_scaling_after_s = nullptr;
  if (counter.first_scaling()) {
    first_scaling_after_s = std::chrono::duration<double>(*counter.first_scaling() - start).count();
  }
  std::string first_error = submissions.first_error;
  if (first_error.empty() && done < accepted) {
    first_error = "only " + std::to_string(done) + " of " + std::to_string(accepted) +
                  " accepted tasks were seen done within " + std::to_string(options.timeout_s) +
                  " s";
  }
  boost::json::object line{
      {"system", "isla"},
      {"tasks", done},
      {"submitted", options.tasks},
      {"accepted", accepted},
      {"seconds", seconds},
      {"tasks_per_s", seconds > 0 ? static_cast<double>(done) / seconds : 0.0},
      {"accept_seconds", accept_seconds},
      {"e2e", summary_json(end_to_end)},
      {"e2e_samples", end_to_end.count},
      {"accept", summary_json(accept)},
      {"dead", counter.dead()},
      {"errors",
       submissions.errors.load() + counter.dead() + (accepted - std::min(done, accepted))},
      {"first_error", first_error},
      {"unparsed_events", counter.unparsed()},
      {"scaling_events", counter.scaling_events()},
      {"first_scale_up_after_s", first_scaling_after_s},
      {"first_scale_up", counter.first_scaling_event()},
      {"server_cpu_s", server_cpu},
      {"worker_cpu_s", worker_cpu},
      {"client_cpu_s", own_cpu},
      {"producers", options.producers},
      {"window", options.window},
  };
  std::cout << boost::json::serialize(line) << std::endl;
  return done == options.tasks ? 0 : 1;
}

// ------------------------------------------------------------------ dispatch on an idle island

int run_dispatch(const Options& options) {
  const auto target = target_of(options);
  const auto give_up = Clock::now() + std::chrono::seconds(options.timeout_s);
  const boost::json::object body{{"type", "sum"},
                                 {"params", {{"values", boost::json::array{1, 2}}}},
                                 {"sync", true},
                                 {"wait_ms", 10'000}};
  const auto request = task_request(target, boost::json::serialize(body));
  std::vector<double> dispatch_ms;
  std::vector<double> round_trip_ms;
  std::size_t errors = 0;
  std::size_t failed_in_a_row = 0;
  std::string first_error;
  const auto fail = [&](const std::string& what) {
    ++errors;
    ++failed_in_a_row;
    if (first_error.empty()) first_error = what;
  };
  // Three failures in a row say the island cannot run tasks (no worker, say): stop there.
  for (std::size_t i = 0; i < options.samples && Clock::now() < give_up && failed_in_a_row < 3;
       ++i) {
    const auto sent = Clock::now();
    auto result = net::fetch(target.gateways.front(), request, std::chrono::seconds(15));
    const double round_trip = milliseconds_since(sent);
    if (!result.ok()) {
      fail(result.message);
      continue;
    }
    if (result.response->status != 200) {
      fail("answered " + std::to_string(result.response->status) + ": " +
           result.response->body.substr(0, 200));
      continue;
    }
    boost::system::error_code error;
    auto record = boost::json::parse(result.response->body, error);
    const auto* object = !error && record.is_object() ? &record.as_object() : nullptr;
    const auto submitted = object ? number_at(*object, "submitted_ms") : std::nullopt;
    const auto started = object ? number_at(*object, "started_ms") : std::nullopt;
    if (!submitted || !started) {
      fail("a record without submitted_ms/started_ms: " + result.response->body.substr(0, 200));
      continue;
    }
    failed_in_a_row = 0;
    dispatch_ms.push_back(*started - *submitted);
    round_trip_ms.push_back(round_trip);
  }
  auto dispatch = summarize(dispatch_ms);
  auto round_trip = summarize(round_trip_ms);
  boost::json::object line{{"system", "isla"},
                           {"samples", dispatch.count},
                           {"dispatch", summary_json(dispatch)},
                           {"sync_round_trip", summary_json(round_trip)},
                           {"errors", errors},
                           {"first_error", first_error}};
  std::cout << boost::json::serialize(line) << std::endl;
  return errors == 0 && dispatch.count > 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  Options options;
  CLI::App app{"Moves tiny tasks through an isla island's queue; prints one JSON line"};
  app.require_subcommand(1);
  app.add_option("--gateways", options.gateways, "HOST:PORT of each gateway")
      ->required()
      ->delimiter(',');
  app.add_option("--token-file", options.token_file, "A write token (isla token create)");
  app.add_option("--timeout-s", options.timeout_s, "Give up on the run after this long")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  auto* load = app.add_subcommand("load", "Throughput and end-to-end latency under load");
  load->add_option("--tasks", options.tasks, "Tasks to move")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  load->add_option("--producers", options.producers, "Producer threads")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  load->add_option("--window", options.window, "Submissions in flight per producer")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  load->add_option("--server-pids", options.server_pids, "Gateways whose CPU to report")
      ->delimiter(',');
  load->add_option("--worker-pids", options.worker_pids, "Workers whose CPU to report")
      ->delimiter(',');
  auto* dispatch = app.add_subcommand("dispatch", "Dispatch latency on an idle island");
  dispatch->add_option("--samples", options.samples, "Tasks, one at a time")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  CLI11_PARSE(app, argc, argv);
  try {
    const int code = load->parsed() ? run_load(options) : run_dispatch(options);
    std::cout.flush();
    std::_Exit(code);  // the detached subscriber may still be blocked in its read
  } catch (const std::exception& e) {
    std::cerr << "isla_queue_bench: " << e.what() << "\n";
    std::_Exit(2);
  }
}
