// The NATS JetStream half of bench/queue_vs_nats.sh (issue 12): a work queue moving tiny
// tasks through a 3-node JetStream cluster, as isla_queue_bench moves them through isla.
//
//   stream    TASKS (subject tasks.sum), WorkQueuePolicy, FileStorage, --replicas (3);
//             deleted and created afresh on every run
//   consumer  durable pull consumer "workers", AckExplicit, AckWait --ack-wait-ms
//   producers --producers threads, each on its own connection, publish their share of --tasks
//             with js_PublishAsync (at most --window unacknowledged each), then wait for every
//             publish acknowledgement: a task counts as accepted once the stream has stored
//             it on a quorum of its replicas, as isla's 202 means written to its store
//   consumers --workers connections with --concurrency threads each, every thread with its
//             own subscription bound to the consumer: fetch up to --fetch messages, then
//             natsMsg_AckSync each. AckSync waits for the server's confirmation that the ack
//             is recorded (on the replicated consumer), the counterpart of isla recording a
//             completion in its replicated store before it answers the worker; a fire-and-
//             forget natsMsg_Ack would be cheaper and say less
//
// Each message carries its submit time; end to end is from just before js_PublishAsync to the
// return of its AckSync (one process, one steady clock). accept is from the same start to its
// publish acknowledgement; delivery to the return of the fetch that brought it (the
// counterpart of isla's dispatch, started_ms - submitted_ms). --one-at-a-time publishes each
// task once the one before it was acked: latency on an idle cluster. Prints one JSON line; with
// --server-pids, the CPU those processes spent between the first publish and the last ack.
#include <nats/nats.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <boost/json.hpp>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "latency_summary.hpp"
#include "process_cpu.hpp"
#include "tasks/jetstream/nats_client.hpp"

namespace {

using namespace isla::bench;
using Clock = std::chrono::steady_clock;

constexpr const char* kStream = "TASKS";
constexpr const char* kSubject = "tasks.sum";
constexpr const char* kConsumer = "workers";
// The body isla's tasks carry, so both systems move the same bytes.
constexpr const char* kTaskBody = R"({"type":"sum","params":{"values":[1,2]}})";

struct Options {
  std::vector<std::string> servers;
  std::size_t tasks = 20000;
  std::size_t producers = 8;
  std::size_t window = 32;
  std::size_t workers = 4;
  std::size_t concurrency = 8;
  int fetch = 8;
  int replicas = 3;
  long ack_wait_ms = 30'000;
  long fetch_wait_ms = 1000;
  bool one_at_a_time = false;  // each task is published once the one before it was acked
  long timeout_s = 120;
  std::vector<int> server_pids;
};

std::int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch())
      .count();
}

// The RAII wrappers and the error check of isla's own JetStream client.
using isla::tasks::jetstream::check;
using isla::tasks::jetstream::Connection;
using isla::tasks::jetstream::JetStream;
using isla::tasks::jetstream::Subscription;

Connection connect(const Options& options) {
  natsOptions* opts = nullptr;
  check(natsOptions_Create(&opts), "natsOptions_Create");
  std::vector<const char*> urls;
  for (const auto& server : options.servers) urls.push_back(server.c_str());
  natsStatus status = natsOptions_SetServers(opts, urls.data(), static_cast<int>(urls.size()));
  if (status == NATS_OK) status = natsOptions_SetNoRandomize(opts, false);
  natsConnection* nc = nullptr;
  if (status == NATS_OK) status = natsConnection_Connect(&nc, opts);
  natsOptions_Destroy(opts);
  check(status, "connecting to " + options.servers.front());
  return Connection(nc);
}

JetStream jetstream(natsConnection* nc, jsOptions* options = nullptr) {
  jsCtx* js = nullptr;
  check(natsConnection_JetStream(&js, nc, options), "natsConnection_JetStream");
  return JetStream(js);
}

// Deletes TASKS if an earlier run left it, then creates it and its consumer. A cluster that
// has just started may not have elected its JetStream meta leader yet: retried until then.
void create_stream(const Options& options) {
  auto nc = connect(options);
  auto js = jetstream(nc.get());
  const auto give_up = Clock::now() + std::chrono::seconds(30);
  const char* subjects[] = {kSubject};
  while (true) {
    jsErrCode code = static_cast<jsErrCode>(0);
    const auto deleted = js_DeleteStream(js.get(), kStream, nullptr, &code);
    if (deleted != NATS_OK && deleted != NATS_NOT_FOUND && code != JSStreamNotFoundErr &&
        Clock::now() < give_up) {
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
      continue;
    }
    jsStreamConfig config;
    jsStreamConfig_Init(&config);
    config.Name = kStream;
    config.Subjects = subjects;
    config.SubjectsLen = 1;
    config.Retention = js_WorkQueuePolicy;
    config.Storage = js_FileStorage;
    config.Replicas = options.replicas;
    code = static_cast<jsErrCode>(0);
    jsStreamInfo* info = nullptr;
    const auto added = js_AddStream(&info, js.get(), &config, nullptr, &code);
    jsStreamInfo_Destroy(info);
    if (added == NATS_OK) break;
    if (Clock::now() >= give_up)
      check(added, "js_AddStream (error code " + std::to_string(code) + ")");
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  jsConsumerConfig consumer;
  jsConsumerConfig_Init(&consumer);
  consumer.Durable = kConsumer;
  consumer.AckPolicy = js_AckExplicit;
  consumer.AckWait = options.ack_wait_ms * 1'000'000;  // ns
  // Never the limit: every consumer thread may hold a full fetch unacknowledged.
  consumer.MaxAckPending = static_cast<int64_t>(options.workers * options.concurrency) *
                           static_cast<int64_t>(options.fetch) * 4;
  jsConsumerInfo* info = nullptr;
  jsErrCode code = static_cast<jsErrCode>(0);
  const auto added = js_AddConsumer(&info, js.get(), kStream, &consumer, nullptr, &code);
  jsConsumerInfo_Destroy(info);
  check(added, "js_AddConsumer (error code " + std::to_string(code) + ")");
}

// What every thread adds to; latencies are kept per thread and merged at the end.
struct Tally {
  std::atomic<std::size_t> published{0};  // publish calls that returned OK
  std::atomic<std::size_t> accepted{0};   // publish acknowledgements
  std::atomic<std::size_t> acked{0};      // AckSync that returned OK
  std::atomic<std::size_t> redelivered{0};
  std::atomic<std::size_t> errors{0};
  std::atomic<bool> producers_done{false};
  std::atomic<std::int64_t> last_ack_ns{0};
  std::mutex mutex;
  std::vector<double> accept_ms;
  std::vector<double> end_to_end_ms;
  std::vector<double> delivery_ms;
  std::string first_error;

  void error(const std::string& what) {
    errors.fetch_add(1);
    std::lock_guard lock(mutex);
    if (first_error.empty()) first_error = what;
  }
  void merge(std::vector<double>& into, const std::vector<double>& from) {
    std::lock_guard lock(mutex);
    into.insert(into.end(), from.begin(), from.end());
  }
};

std::int64_t submitted_ns(const natsMsg* msg) {
  const char* data = natsMsg_GetData(msg);
  std::int64_t ns = 0;
  std::from_chars(data, data + natsMsg_GetDataLength(msg), ns);
  return ns;
}

struct Producer {
  Tally* tally;
  std::mutex mutex;  // the library's callback thread adds, the producer's thread reads
  std::vector<double> accept_ms;
};

void on_publish_ack(jsCtx*, natsMsg* msg, jsPubAck* ack, jsPubAckErr* error, void* closure) {
  auto* producer = static_cast<Producer*>(closure);
  if (ack != nullptr) {
    const double ms = static_cast<double>(now_ns() - submitted_ns(msg)) / 1e6;
    std::lock_guard lock(producer->mutex);
    producer->accept_ms.push_back(ms);
    producer->tally->accepted.fetch_add(1);
  } else if (error != nullptr) {
    producer->tally->error(std::string("publish: ") + natsStatus_GetText(error->Err) + " " +
                           (error->ErrText ? error->ErrText : ""));
  }
  natsMsg_Destroy(msg);
}

// Blocks until `count` messages were acked (or the run's timeout passed).
void wait_for_acks(Tally& tally, std::size_t count, long timeout_s) {
  const auto give_up = Clock::now() + std::chrono::seconds(timeout_s);
  for (auto acked = tally.acked.load(); acked < count && Clock::now() < give_up;
       acked = tally.acked.load()) {
    tally.acked.wait(acked);
  }
}

void produce(const Options& options, std::size_t count, Tally& tally) {
  Producer producer;
  producer.tally = &tally;
  producer.accept_ms.reserve(count);
  auto nc = connect(options);
  jsOptions js_options;
  jsOptions_Init(&js_options);
  js_options.PublishAsync.MaxPending = static_cast<int64_t>(options.window);
  js_options.PublishAsync.AckHandler = on_publish_ack;
  js_options.PublishAsync.AckHandlerClosure = &producer;
  // A full window blocks the publisher (backpressure) instead of failing it.
  js_options.PublishAsync.StallWait = options.timeout_s * 1000;
  auto js = jetstream(nc.get(), &js_options);
  char payload[128];
  for (std::size_t i = 0; i < count; ++i) {
    const int length = std::snprintf(payload, sizeof payload, "%lld %s",
                                     static_cast<long long>(now_ns()), kTaskBody);
    const auto status = js_PublishAsync(js.get(), kSubject, payload, length, nullptr);
    if (status == NATS_OK) {
      tally.published.fetch_add(1);
      if (options.one_at_a_time) wait_for_acks(tally, i + 1, options.timeout_s);
    } else {
      tally.error(std::string("js_PublishAsync: ") + natsStatus_GetText(status));
    }
  }
  jsPubOptions wait;
  jsPubOptions_Init(&wait);
  wait.MaxWait = options.timeout_s * 1000;
  const auto status = js_PublishAsyncComplete(js.get(), &wait);
  if (status != NATS_OK) {
    tally.error(std::string("js_PublishAsyncComplete: ") + natsStatus_GetText(status));
  }
  // Closing the connection stops its callbacks before `producer` goes.
  natsConnection_Close(nc.get());
  js.reset();
  nc.reset();
  std::lock_guard lock(producer.mutex);
  tally.merge(tally.accept_ms, producer.accept_ms);
}

// Done once the producers are finished and every message they had accepted was acked.
bool all_consumed(const Tally& tally) {
  return tally.producers_done.load() && tally.acked.load() >= tally.accepted.load();
}

void consume(natsConnection* nc, const Options& options, Tally& tally, Clock::time_point give_up) {
  auto js = jetstream(nc);
  jsSubOptions bind;
  jsSubOptions_Init(&bind);
  bind.Stream = kStream;
  bind.Consumer = kConsumer;
  natsSubscription* raw = nullptr;
  jsErrCode code = static_cast<jsErrCode>(0);
  check(js_PullSubscribe(&raw, js.get(), kSubject, kConsumer, nullptr, &bind, &code),
        "js_PullSubscribe");
  Subscription sub(raw);
  std::vector<double> latencies;
  std::vector<double> deliveries;
  while (!all_consumed(tally) && Clock::now() < give_up) {
    natsMsgList list{};
    code = static_cast<jsErrCode>(0);
    const auto fetched =
        natsSubscription_Fetch(&list, sub.get(), options.fetch, options.fetch_wait_ms, &code);
    if (fetched == NATS_TIMEOUT) continue;
    if (fetched != NATS_OK) {
      tally.error(std::string("fetch: ") + natsStatus_GetText(fetched));
      continue;
    }
    const auto delivered = now_ns();
    for (int i = 0; i < list.Count; ++i) {
      natsMsg* msg = list.Msgs[i];
      deliveries.push_back(static_cast<double>(delivered - submitted_ns(msg)) / 1e6);
      jsMsgMetaData* meta = nullptr;
      if (natsMsg_GetMetaData(&meta, msg) == NATS_OK) {
        if (meta->NumDelivered > 1) tally.redelivered.fetch_add(1);
        jsMsgMetaData_Destroy(meta);
      }
      const auto acked = natsMsg_AckSync(msg, nullptr, &code);
      if (acked == NATS_OK) {
        const auto done = now_ns();
        latencies.push_back(static_cast<double>(done - submitted_ns(msg)) / 1e6);
        tally.acked.fetch_add(1);
        tally.acked.notify_all();
        auto last = tally.last_ack_ns.load();
        while (last < done && !tally.last_ack_ns.compare_exchange_weak(last, done)) {
        }
      } else {
        tally.error(std::string("natsMsg_AckSync: ") + natsStatus_GetText(acked));
      }
    }
    natsMsgList_Destroy(&list);
  }
  tally.merge(tally.end_to_end_ms, latencies);
  tally.merge(tally.delivery_ms, deliveries);
}

// Nulls when there were no samples, so that a report never shows a latency nobody measured.
boost::json::object summary_json(const LatencySummary& summary) {
  if (summary.count == 0) return {{"p50_ms", nullptr}, {"p99_ms", nullptr}, {"max_ms", nullptr}};
  return {{"p50_ms", summary.p50_ms}, {"p99_ms", summary.p99_ms}, {"max_ms", summary.max_ms}};
}

int run(const Options& options) {
  create_stream(options);
  Tally tally;
  const auto give_up = Clock::now() + std::chrono::seconds(options.timeout_s);

  std::vector<Connection> worker_connections;
  for (std::size_t w = 0; w < options.workers; ++w) worker_connections.push_back(connect(options));
  std::vector<std::thread> consumers;
  std::atomic<std::size_t> failed_threads{0};
  const auto guarded = [&](auto body) {
    return [&, body] {
      try {
        body();
      } catch (const std::exception& e) {
        tally.error(e.what());
        failed_threads.fetch_add(1);
      }
    };
  };
  for (std::size_t t = 0; t < options.workers * options.concurrency; ++t) {
    natsConnection* nc = worker_connections[t / options.concurrency].get();
    consumers.emplace_back(guarded([&, nc] { consume(nc, options, tally, give_up); }));
  }

  const double server_cpu_before = cpu_seconds(options.server_pids);
  const double own_cpu_before = own_cpu_seconds();
  const auto start_ns = now_ns();
  std::vector<std::thread> producers;
  for (std::size_t p = 0; p < options.producers; ++p) {
    const std::size_t share =
        options.tasks / options.producers + (p < options.tasks % options.producers ? 1 : 0);
    producers.emplace_back(guarded([&, share] { produce(options, share, tally); }));
  }
  for (auto& thread : producers) thread.join();
  const auto accepted_ns = now_ns();
  tally.producers_done = true;
  for (auto& thread : consumers) thread.join();
  const double server_cpu = cpu_seconds(options.server_pids) - server_cpu_before;
  const double own_cpu = own_cpu_seconds() - own_cpu_before;
  worker_connections.clear();

  const auto end_ns = std::max(tally.last_ack_ns.load(), accepted_ns);
  const double seconds = static_cast<double>(end_ns - start_ns) / 1e9;
  const auto acked = tally.acked.load();
  auto accept = summarize(tally.accept_ms);
  auto end_to_end = summarize(tally.end_to_end_ms);
  auto delivery = summarize(tally.delivery_ms);
  boost::json::object line{
      {"system", "nats"},
      {"tasks", acked},
      {"submitted", options.tasks},
      {"accepted", tally.accepted.load()},
      {"seconds", seconds},
      {"tasks_per_s", seconds > 0 ? static_cast<double>(acked) / seconds : 0.0},
      {"accept_seconds", static_cast<double>(accepted_ns - start_ns) / 1e9},
      {"e2e", summary_json(end_to_end)},
      {"accept", summary_json(accept)},
      {"delivery", summary_json(delivery)},
      {"redelivered", tally.redelivered.load()},
      {"errors", tally.errors.load()},
      {"first_error", tally.first_error},
      {"server_cpu_s", server_cpu},
      {"client_cpu_s", own_cpu},
      {"producers", options.producers},
      {"window", options.window},
      {"workers", options.workers},
      {"concurrency", options.concurrency},
      {"fetch", options.fetch},
  };
  std::cout << boost::json::serialize(line) << std::endl;
  const bool complete = acked == options.tasks && failed_threads.load() == 0;
  return complete ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  Options options;
  CLI::App app{"Moves tiny tasks through a NATS JetStream work queue; prints one JSON line"};
  app.add_option("--servers", options.servers, "nats://HOST:PORT of each server")
      ->required()
      ->delimiter(',');
  app.add_option("--tasks", options.tasks, "Tasks to move")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  app.add_option("--producers", options.producers, "Producer threads")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  app.add_option("--window", options.window, "Unacknowledged publishes per producer")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  app.add_option("--workers", options.workers, "Consumer connections")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  app.add_option("--concurrency", options.concurrency, "Consumer threads per connection")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  app.add_option("--fetch", options.fetch, "Messages per fetch")
      ->capture_default_str()
      ->check(CLI::Range(1, 1000));
  app.add_option("--replicas", options.replicas, "Stream replicas")
      ->capture_default_str()
      ->check(CLI::Range(1, 5));
  app.add_option("--ack-wait-ms", options.ack_wait_ms, "Consumer AckWait")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  app.add_option("--fetch-wait-ms", options.fetch_wait_ms,
                 "How long a fetch waits for messages (the pull request's expiry)")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  app.add_flag("--one-at-a-time", options.one_at_a_time,
               "Publish each task once the one before it was acked (idle latency; one producer)");
  app.add_option("--timeout-s", options.timeout_s, "Give up on the run after this long")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  app.add_option("--server-pids", options.server_pids, "Processes whose CPU time to report")
      ->delimiter(',');
  CLI11_PARSE(app, argc, argv);
  if (options.one_at_a_time && options.producers != 1) {
    std::cerr << "nats_queue_bench: --one-at-a-time takes --producers 1\n";
    return 2;
  }
  try {
    const int code = run(options);
    nats_Close();
    return code;
  } catch (const std::exception& e) {
    std::cerr << "nats_queue_bench: " << e.what() << "\n";
    return 2;
  }
}
