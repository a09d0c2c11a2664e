#pragma once
// Workers as child processes of this node: `isla worker --gateway G1,G2 --id ID
// --concurrency N [--secret-file F] [extra args]`. A stop is a SIGTERM, on which a worker
// finishes its tasks and leaves; children that exit are reaped whenever the launcher is used.
// On destruction every child still alive gets SIGTERM, then its process group SIGKILL after
// the grace period, and is reaped: nothing is left behind. (Children also die with this
// process: ChildProcess sets PR_SET_PDEATHSIG.)
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "core/child_process.hpp"
#include "tasks/autoscale/launcher.hpp"

namespace isla::tasks::autoscale {

// The command line of `isla worker`.
struct WorkerCommand {
  std::string program;                  // the isla executable (core::self_executable())
  std::vector<std::string> gateways;    // HOST:PORT each, joined with ',' for --gateway
  int concurrency = 4;                  // --concurrency
  std::string secret_file;              // --secret-file, when not empty
  std::vector<std::string> extra_args;  // appended as they are, e.g. {"--task-dir", "tasks"}
  std::vector<std::string> argv_for(const std::string& worker_id) const;
};

struct LocalLauncherOptions {
  // The argv that starts the worker with this id; argv[0] is a path (no PATH lookup). Tests
  // give a stand-in such as {"/bin/sleep", "60"}.
  std::function<std::vector<std::string>(const std::string& worker_id)> command;
  // Ids are "<prefix>-<our pid>-<n>": unique across this node's restarts and across nodes as
  // long as prefixes differ (give the node's name).
  std::string id_prefix = "worker";
  // Each worker's stdout and stderr go to <log_dir>/<id>.log (created if missing); when empty
  // they are inherited.
  std::string log_dir;
  std::chrono::milliseconds stop_grace{10'000};  // on destruction: SIGTERM, then this, SIGKILL
};

class LocalProcessLauncher final : public Launcher {
 public:
  explicit LocalProcessLauncher(LocalLauncherOptions options);  // throws without a command
  ~LocalProcessLauncher() override;
  LocalProcessLauncher(const LocalProcessLauncher&) = delete;
  LocalProcessLauncher& operator=(const LocalProcessLauncher&) = delete;

  std::vector<std::string> start(int count) override;
  bool stop(const std::string& worker_id) override;
  std::vector<std::string> running() override;
  std::string last_error() const override;

  // The process of a worker still held (alive or not yet reaped), for tests and status pages.
  std::optional<pid_t> pid_of(const std::string& worker_id) const;

 private:
  void reap_locked();

  const LocalLauncherOptions options_;
  mutable std::mutex mutex_;
  std::map<std::string, core::ChildProcess> children_;
  std::uint64_t next_number_ = 1;
  std::string last_error_;
};

}  // namespace isla::tasks::autoscale
