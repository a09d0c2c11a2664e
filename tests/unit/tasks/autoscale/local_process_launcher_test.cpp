// LocalProcessLauncher with real child processes; stand-ins (/bin/sleep) play the workers.
#include "tasks/autoscale/local_process_launcher.hpp"

#include "tasks/autoscale/scaler_driver.hpp"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

namespace isla::tasks::autoscale {
namespace {

using namespace std::chrono_literals;

// Waits on a condition with a deadline, never a fixed sleep.
template <typename Condition>
bool eventually(Condition condition, std::chrono::milliseconds within = 10s) {
  const auto give_up = std::chrono::steady_clock::now() + within;
  while (std::chrono::steady_clock::now() < give_up) {
    if (condition()) return true;
    std::this_thread::sleep_for(10ms);
  }
  return condition();
}

// No process of ours with this pid is left, not even a zombie: it was reaped.
bool reaped(pid_t pid) {
  return ::waitpid(pid, nullptr, WNOHANG) == -1 && errno == ECHILD;
}

bool alive(pid_t pid) {
  return ::kill(pid, 0) == 0;
}

LocalLauncherOptions stand_in(std::vector<std::string> argv) {
  LocalLauncherOptions options;
  options.command = [argv](const std::string&) { return argv; };
  options.id_prefix = "test";
  return options;
}

TEST(LocalProcessLauncher, StartsWorkersStopsOneWithSigtermAndReapsIt) {
  LocalProcessLauncher launcher(stand_in({"/bin/sleep", "60"}));
  const auto ids = launcher.start(2);
  ASSERT_EQ(ids.size(), 2u) << launcher.last_error();
  EXPECT_NE(ids[0], ids[1]);
  EXPECT_EQ(ids[0].rfind("test-" + std::to_string(::getpid()) + "-", 0), 0u) << ids[0];
  EXPECT_TRUE(launcher.last_error().empty());
  EXPECT_EQ(launcher.running().size(), 2u);
  const pid_t stopped = *launcher.pid_of(ids[0]);
  const pid_t kept = *launcher.pid_of(ids[1]);
  EXPECT_TRUE(alive(stopped));

  EXPECT_TRUE(launcher.stop(ids[0]));
  EXPECT_TRUE(eventually([&] { return launcher.running() == std::vector<std::string>{ids[1]}; }));
  EXPECT_TRUE(reaped(stopped));
  EXPECT_FALSE(launcher.pid_of(ids[0]));
  EXPECT_FALSE(launcher.stop(ids[0])) << "gone already";
  EXPECT_FALSE(launcher.stop("not-ours"));
  EXPECT_TRUE(alive(kept));
}

TEST(LocalProcessLauncher, DestructionLeavesNoChildEvenOneThatIgnoresSigterm) {
  std::vector<pid_t> pids;
  const auto began = std::chrono::steady_clock::now();
  {
    auto options = stand_in({"/bin/sleep", "60"});
    options.command = [](const std::string& id) -> std::vector<std::string> {
      // The first ignores SIGTERM (the disposition survives exec), so it needs the SIGKILL.
      if (id.ends_with("-1")) return {"/bin/sh", "-c", "trap '' TERM; exec sleep 60"};
      return {"/bin/sleep", "60"};
    };
    options.stop_grace = 300ms;
    LocalProcessLauncher launcher(options);
    for (const auto& id : launcher.start(3)) pids.push_back(*launcher.pid_of(id));
    ASSERT_EQ(pids.size(), 3u);
  }
  for (const pid_t pid : pids) {
    EXPECT_TRUE(reaped(pid)) << pid;
    EXPECT_FALSE(alive(pid)) << pid;
  }
  EXPECT_LT(std::chrono::steady_clock::now() - began, 10s);
}

TEST(LocalProcessLauncher, AProgramThatCannotRunFailsTheStartWithTheReason) {
  LocalProcessLauncher launcher(stand_in({"/nonexistent/isla", "worker"}));
  EXPECT_TRUE(launcher.start(2).empty());
  EXPECT_NE(launcher.last_error().find("cannot execute /nonexistent/isla"), std::string::npos)
      << launcher.last_error();
  EXPECT_TRUE(launcher.running().empty());
}

TEST(LocalProcessLauncher, AWorkersOutputGoesToItsLogFile) {
  const auto dir =
      std::filesystem::temp_directory_path() / ("isla-launcher-test-" + std::to_string(::getpid()));
  auto options = stand_in({});
  options.command = [](const std::string& id) -> std::vector<std::string> {
    return {"/bin/echo", "I am " + id};
  };
  options.log_dir = (dir / "logs").string();
  LocalProcessLauncher launcher(options);
  const auto ids = launcher.start(1);
  ASSERT_EQ(ids.size(), 1u) << launcher.last_error();
  ASSERT_TRUE(eventually([&] { return launcher.running().empty(); }));  // echo exits
  std::ifstream log(dir / "logs" / (ids[0] + ".log"));
  std::stringstream text;
  text << log.rdbuf();
  EXPECT_EQ(text.str(), "I am " + ids[0] + "\n");
  std::filesystem::remove_all(dir);
}

TEST(LocalProcessLauncher, TheDriverStartsTheMinimumAndStopsAWorkerThatNeverHeartbeats) {
  LocalProcessLauncher launcher(stand_in({"/bin/sleep", "60"}));  // a stand-in never heartbeats
  AutoscalerConfig config;
  config.min_workers = 2;
  std::vector<Decision> reported;
  ScalerDriver driver(config, launcher, {.on_decision = [&](const Decision& decision) {
                        reported.push_back(decision);
                      }});
  driver.on_gained_leadership(-60s);  // times are the test's; the processes are real
  const auto started = driver.evaluate(0ms, {}, {});
  ASSERT_EQ(started.kind, DecisionKind::scale_up);
  ASSERT_EQ(started.started.size(), 2u) << started.error;
  EXPECT_EQ(launcher.running().size(), 2u);
  const pid_t first = *launcher.pid_of(started.started[0]);

  const auto abandoned = driver.evaluate(config.boot_timeout, {}, {});
  EXPECT_EQ(abandoned.kind, DecisionKind::abandon_start);
  EXPECT_EQ(abandoned.worker, started.started[0]);
  EXPECT_TRUE(eventually([&] { return launcher.running().size() == 1u; }));
  EXPECT_TRUE(reaped(first));
  EXPECT_EQ(reported.size(), 2u);
}

TEST(WorkerCommand, BuildsTheIslaWorkerCommandLine) {
  WorkerCommand command{.program = "/opt/isla",
                        .gateways = {"127.0.0.1:5235", "127.0.0.2:5235"},
                        .concurrency = 3,
                        .secret_file = "/etc/isla/secret",
                        .extra_args = {"--task-dir", "tasks"}};
  EXPECT_EQ(command.argv_for("w-7"),
            (std::vector<std::string>{
                "/opt/isla", "worker", "--gateway", "127.0.0.1:5235,127.0.0.2:5235", "--id", "w-7",
                "--concurrency", "3", "--secret-file", "/etc/isla/secret", "--task-dir", "tasks"}));
  command.secret_file.clear();
  command.extra_args.clear();
  EXPECT_EQ(command.argv_for("w-8").size(), 8u);
}

}  // namespace
}  // namespace isla::tasks::autoscale
