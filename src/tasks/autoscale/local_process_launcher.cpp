#include "tasks/autoscale/local_process_launcher.hpp"

#include <fmt/format.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <stdexcept>

namespace isla::tasks::autoscale {

std::vector<std::string> WorkerCommand::argv_for(const std::string& worker_id) const {
  std::vector<std::string> argv{program, "worker"};
  if (!gateways.empty()) {
    argv.push_back("--gateway");
    argv.push_back(fmt::format("{}", fmt::join(gateways, ",")));
  }
  argv.insert(argv.end(), {"--id", worker_id, "--concurrency", std::to_string(concurrency)});
  if (!secret_file.empty()) argv.insert(argv.end(), {"--secret-file", secret_file});
  argv.insert(argv.end(), extra_args.begin(), extra_args.end());
  return argv;
}

LocalProcessLauncher::LocalProcessLauncher(LocalLauncherOptions options)
    : options_(std::move(options)) {
  if (!options_.command) throw std::invalid_argument("LocalProcessLauncher: no worker command");
}

LocalProcessLauncher::~LocalProcessLauncher() {
  std::lock_guard lock(mutex_);
  for (auto& [id, child] : children_) child.signal(SIGTERM);
  const auto give_up = std::chrono::steady_clock::now() + options_.stop_grace;
  for (auto& [id, child] : children_) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        give_up - std::chrono::steady_clock::now());
    if (child.wait_for(std::max(left, std::chrono::milliseconds(0)))) continue;
    spdlog::warn("autoscale: worker {} (pid {}) ignored SIGTERM for {} ms; killing it", id,
                 child.pid(), options_.stop_grace.count());
    // Its process group too: whatever it started (sandboxed tasks) must not outlive it.
    ::kill(-child.pid(), SIGKILL);
  }
  children_.clear();  // ~ChildProcess kills (SIGKILL) and reaps any still running
}

std::vector<std::string> LocalProcessLauncher::start(int count) {
  std::lock_guard lock(mutex_);
  last_error_.clear();
  std::vector<std::string> started;
  if (!options_.log_dir.empty()) {
    std::error_code error;
    std::filesystem::create_directories(options_.log_dir, error);
    if (error) {
      last_error_ =
          fmt::format("cannot create log directory {}: {}", options_.log_dir, error.message());
      return started;
    }
  }
  for (int i = 0; i < count; ++i) {
    const auto id = fmt::format("{}-{}-{}", options_.id_prefix, ::getpid(), next_number_++);
    const auto argv = options_.command(id);
    // exec failing in the child would only show as an exit code 127 later: check first, so
    // the usual mistake (a wrong path) is reported with the start that failed.
    if (argv.empty() || ::access(argv[0].c_str(), X_OK) != 0) {
      last_error_ = argv.empty() ? "empty worker command"
                                 : fmt::format("cannot execute {}: {}", argv[0], strerror(errno));
      break;
    }
    try {
      const auto log_file =
          options_.log_dir.empty() ? std::string() : options_.log_dir + "/" + id + ".log";
      auto child = core::ChildProcess::spawn(argv, log_file);
      spdlog::info("autoscale: started worker {} (pid {})", id, child.pid());
      children_.emplace(id, std::move(child));
      started.push_back(id);
    } catch (const std::exception& error) {
      last_error_ = fmt::format("cannot start worker {}: {}", id, error.what());
      break;
    }
  }
  if (!last_error_.empty()) {
    spdlog::warn("autoscale: started {} of {} workers: {}", started.size(), count, last_error_);
  }
  return started;
}

bool LocalProcessLauncher::stop(const std::string& worker_id) {
  std::lock_guard lock(mutex_);
  reap_locked();
  const auto found = children_.find(worker_id);
  if (found == children_.end()) return false;
  found->second.signal(SIGTERM);
  spdlog::info("autoscale: asked worker {} (pid {}) to leave (SIGTERM)", worker_id,
               found->second.pid());
  return true;
}

std::vector<std::string> LocalProcessLauncher::running() {
  std::lock_guard lock(mutex_);
  reap_locked();
  std::vector<std::string> ids;
  for (const auto& [id, child] : children_) ids.push_back(id);
  return ids;
}

std::string LocalProcessLauncher::last_error() const {
  std::lock_guard lock(mutex_);
  return last_error_;
}

std::optional<pid_t> LocalProcessLauncher::pid_of(const std::string& worker_id) const {
  std::lock_guard lock(mutex_);
  const auto found = children_.find(worker_id);
  if (found == children_.end()) return std::nullopt;
  return found->second.pid();
}

void LocalProcessLauncher::reap_locked() {
  for (auto it = children_.begin(); it != children_.end();) {
    if (const auto code = it->second.try_wait()) {
      spdlog::info("autoscale: worker {} (pid {}) exited with {}", it->first, it->second.pid(),
                   *code);
      it = children_.erase(it);
    } else {
      ++it;
    }
  }
}

}  // namespace isla::tasks::autoscale
