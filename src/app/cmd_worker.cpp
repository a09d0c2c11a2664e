// isla worker: leases tasks from the gateways, runs them, reports their results
// (docs/tasks.md). SIGTERM or SIGINT: stop leasing, finish the running tasks, deliver their
// results, say bye, exit 0. A second one: stop the runs (they end `cancelled`), deliver, bye.
// A third: exit at once.
#include <signal.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <ctime>
#include <thread>

#include "app/commands.hpp"
#include "app/server_flags.hpp"
#include "core/endpoint.hpp"
#include "core/logging.hpp"
#include "core/names.hpp"
#include "net/tls.hpp"
#include "security/island_secret.hpp"
#include "security/request_auth.hpp"
#include "tasks/worker/http_task_source.hpp"
#include "tasks/worker/worker.hpp"

namespace isla::app {

namespace {

struct WorkerArgs {
  std::string gateways = "127.0.0.1:5235";
  int concurrency = 4;
  std::string id;
  std::string task_dir;
  long visibility_ms = 30'000;
  long lease_wait_ms = 20'000;
  long drain_timeout_ms = 120'000;
  std::string secret_file;
  bool secret_file_group_readable = false;
  std::string tls_ca;
  std::string log_level = "info";
};

// The host name and process id, as a worker id may be spelled: unique on an island as long as
// host names are.
std::string default_worker_id() {
  char host[256] = {};
  ::gethostname(host, sizeof(host) - 1);
  std::string id;
  for (const char c : std::string(host)) id.push_back(core::is_short_name_char(c) ? c : '-');
  if (id.empty()) id = "worker";
  id = id.substr(0, 40) + "-" + std::to_string(::getpid());
  return id;
}

int run_worker(const WorkerArgs& args) {
  const std::string id = args.id.empty() ? default_worker_id() : args.id;
  if (!core::valid_short_name(id)) {
    throw CLI::ValidationError("--id", "must be 1-64 of A-Z a-z 0-9 - _ . : '" + id + "'");
  }
  core::setup_logging("worker " + id, args.log_level);
  std::vector<core::Endpoint> gateways;
  try {
    gateways = core::parse_endpoint_list(args.gateways, 5235);
  } catch (const std::invalid_argument& error) {
    throw CLI::ValidationError("--gateway", error.what());
  }
  if (gateways.empty()) throw CLI::ValidationError("--gateway", "names no gateway");

  tasks::TaskCatalog catalog;
  tasks::add_builtin_types(catalog);
  if (!args.task_dir.empty()) tasks::add_external_types(catalog, args.task_dir);

  tasks::HttpTaskSourceOptions source_options;
  source_options.gateways = gateways;
  source_options.worker = id;
  source_options.pid = ::getpid();
  if (!args.secret_file.empty()) {
    const auto secret =
        security::load_secret_file(args.secret_file, args.secret_file_group_readable);
    source_options.client.signer = security::make_node_signer(secret, "worker/" + id);
  } else {
    spdlog::warn(
        "no island secret: calls to the gateways are not signed, and a gateway with a secret "
        "refuses them (give --secret-file; `isla up` keeps it in <data-dir>/secret)");
  }
  if (!args.tls_ca.empty()) source_options.client.tls = net::make_client_tls(args.tls_ca);
  tasks::HttpTaskSource source(source_options);

  tasks::WorkerOptions options;
  options.concurrency = args.concurrency;
  options.visibility = std::chrono::milliseconds(args.visibility_ms);
  options.lease_wait = std::chrono::milliseconds(args.lease_wait_ms);
  options.drain_timeout = std::chrono::milliseconds(args.drain_timeout_ms);

  // Blocked before the worker's threads start, so that they inherit the mask and only
  // sigtimedwait below sees the signals.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  tasks::RealWorkerClock clock;
  tasks::Worker worker(options, catalog, source, clock);
  worker.start();
  spdlog::info("worker started id={} gateways={} concurrency={} types={} visibility_ms={}", id,
               args.gateways, args.concurrency, catalog.all().size(), args.visibility_ms);

  int signals_seen = 0;
  std::thread stopper;
  while (!worker.has_left()) {
    const timespec tick{0, 200'000'000};
    const int number = sigtimedwait(&stop_signals, nullptr, &tick);
    if (number != SIGINT && number != SIGTERM) continue;
    ++signals_seen;
    if (signals_seen == 1) {
      spdlog::info(
          "signal={} finishing the running tasks, then leaving (send it again to stop "
          "them)",
          number);
      worker.request_stop();
    } else if (signals_seen == 2) {
      spdlog::warn("signal={} again: stopping the running tasks", number);
      worker.cancel_runs();
    } else {
      spdlog::warn("signal={} a third time: exiting at once", number);
      spdlog::default_logger()->flush();
      ::_exit(128 + number);
    }
  }
  worker.stop();
  const auto counters = worker.counters();
  spdlog::info(
      "worker left id={} completed={} failed={} delivered={} lost_results={} lost_leases={} "
      "dropped_results={}{}",
      id, counters.completed, counters.failed, counters.delivered, counters.lost_results,
      counters.lost_leases, counters.dropped_results,
      counters.drain_requested ? " (the island asked it to drain)" : "");
  return 0;
}

}  // namespace

void add_worker_command(CLI::App& app) {
  auto* command =
      app.add_subcommand("worker", "Run a task worker: lease tasks from the gateways and run them");
  auto args = std::make_shared<WorkerArgs>();
  command
      ->add_option("--gateway", args->gateways,
                   "Gateways to lease from, HOST:PORT[,HOST:PORT...]; any of them will do, the "
                   "others are tried when one is down")
      ->envname("ISLA_GATEWAY")
      ->capture_default_str();
  command->add_option("--concurrency", args->concurrency, "Tasks run at once")
      ->check(CLI::Range(1, 1024))
      ->capture_default_str();
  command->add_option("--id", args->id,
                      "This worker's id on the island, 1-64 of A-Z a-z 0-9 - _ . (default: "
                      "HOST-PID)");
  command->add_option("--task-dir", args->task_dir,
                      "Directory of external task manifests (*.toml), as on the gateways");
  command
      ->add_option("--visibility-ms", args->visibility_ms,
                   "Lease length asked for; leases are extended every third of it")
      ->check(CLI::Range(1000L, 600'000L))
      ->capture_default_str();
  command
      ->add_option("--lease-wait-ms", args->lease_wait_ms,
                   "How long a lease request waits at the gateway for work (long poll)")
      ->check(CLI::Range(1000L, 30'000L))
      ->capture_default_str();
  command
      ->add_option("--drain-timeout-ms", args->drain_timeout_ms,
                   "On SIGTERM, stop the runs still going after this long")
      ->check(CLI::Range(0L, 86'400'000L))
      ->capture_default_str();
  command->add_option("--secret-file", args->secret_file,
                      "The island secret (isla secret init) that signs the worker's calls");
  command->add_flag("--secret-file-group-readable", args->secret_file_group_readable,
                    "Accept a --secret-file its group may read (not write): a Kubernetes Secret "
                    "mounted for a non-root pod");
  command->add_option("--tls-ca", args->tls_ca,
                      "The island CA: talk to the gateways over HTTPS, accepting only "
                      "certificates from it");
  command->add_option("--log-level", args->log_level, "trace|debug|info|warn|error")
      ->capture_default_str();
  command->callback([args] { exit_with(run_worker(*args)); });
}

}  // namespace isla::app
