// The bubblewrap sandbox for real, with a probe program (sandbox_probe.cpp): each limit is
// hit and named, and the sandbox has no network, a read-only file system and a private /tmp.
// Skipped, with the reason, where bwrap is missing or cannot make namespaces.
#include "tasks/types/bubblewrap_sandbox.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <thread>

#include "tasks/types/external_task.hpp"

namespace isla::tasks {
namespace {

namespace json = boost::json;
namespace fs = std::filesystem;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

RunContext stopped_by(const std::atomic<bool>* stop) {
  RunContext context;
  context.stop = stop;
  return context;
}

TaskLimits generous_limits() {
  TaskLimits limits;
  limits.wall = 60s;
  limits.cpu = 30s;
  limits.memory_bytes = 256ull << 20;
  limits.output_bytes = 1ull << 20;
  return limits;
}

class RealSandbox : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string why;
    if (!BubblewrapSandbox::available(kDefaultBwrapPath, &why)) GTEST_SKIP() << why;
  }

  SandboxResult probe(const json::object& params, const TaskLimits& limits = generous_limits(),
                      const RunContext& context = {}, std::vector<std::string> extra = {}) {
    SandboxRequest request;
    request.argv = {ISLA_SANDBOX_PROBE};
    request.read_only = {fs::path(ISLA_SANDBOX_PROBE).parent_path().string()};
    request.read_only.insert(request.read_only.end(), extra.begin(), extra.end());
    request.input = json::serialize(params);
    request.limits = limits;
    const auto started = Clock::now();
    auto result = sandbox_.run(request, context);
    elapsed_ = Clock::now() - started;
    return result;
  }

  static json::value output_of(const SandboxResult& result) {
    EXPECT_EQ(result.end, SandboxEnd::exited) << result.detail << " " << result.error_tail;
    EXPECT_EQ(result.exit_code, 0) << result.error_tail;
    boost::system::error_code error;
    auto value = json::parse(result.output, error);
    EXPECT_FALSE(error) << "not JSON: " << result.output;
    return value;
  }

  BubblewrapSandbox sandbox_;
  Clock::duration elapsed_{};
};

TEST_F(RealSandbox, AGoodTaskReturnsItsJson) {
  const json::object params{{"mode", "echo"}, {"n", 5}};
  const auto result = probe(params);
  EXPECT_EQ(output_of(result), json::value(json::object{{"got", params}}));
  EXPECT_NE(result.error_tail.find("a line on stderr"), std::string::npos) << result.error_tail;
}

TEST_F(RealSandbox, AllocatingPastTheMemoryLimitIsLimitMemory) {
  TaskLimits limits = generous_limits();
  limits.memory_bytes = 64ull << 20;
  const auto result = probe({{"mode", "allocate"}}, limits);
  EXPECT_EQ(result.end, SandboxEnd::limit_memory) << result.detail << " | " << result.error_tail;
  EXPECT_NE(result.detail.find("memory limit of 64 MiB"), std::string::npos) << result.detail;
  EXPECT_EQ(outcome_of(result).failure, FailureKind::limit_memory);
}

TEST_F(RealSandbox, SpinningPastTheCpuLimitIsLimitCpu) {
  TaskLimits limits = generous_limits();
  limits.cpu = 1s;
  const auto result = probe({{"mode", "spin"}}, limits);
  EXPECT_EQ(result.end, SandboxEnd::limit_cpu) << result.detail << " | " << result.error_tail;
  EXPECT_NE(result.detail.find("CPU time limit of 1000 ms"), std::string::npos) << result.detail;
  EXPECT_LT(elapsed_, 50s);
  EXPECT_EQ(outcome_of(result).failure, FailureKind::limit_cpu);
}

TEST_F(RealSandbox, SleepingPastTheWallClockLimitIsLimitWall) {
  TaskLimits limits = generous_limits();
  limits.wall = 1s;
  const auto result = probe({{"mode", "sleep"}}, limits);
  EXPECT_EQ(result.end, SandboxEnd::limit_wall) << result.detail << " | " << result.error_tail;
  EXPECT_NE(result.detail.find("wall-clock limit of 1000 ms"), std::string::npos) << result.detail;
  EXPECT_GE(elapsed_, 1s);
  EXPECT_LT(elapsed_, 30s);
  EXPECT_EQ(outcome_of(result).failure, FailureKind::limit_wall);
}

TEST_F(RealSandbox, StoppingARunKillsItAndSaysCancelled) {
  std::atomic<bool> stop{false};
  std::thread stopper([&] {
    std::this_thread::sleep_for(200ms);  // only to let the run start; not a synchronisation
    stop = true;
  });
  const auto result = probe({{"mode", "sleep"}}, generous_limits(), stopped_by(&stop));
  stopper.join();
  EXPECT_EQ(result.end, SandboxEnd::cancelled) << result.detail;
  EXPECT_LT(elapsed_, 30s);
}

// A listener on 127.0.0.1 with a port of the kernel's choosing.
class Listener {
 public:
  Listener() {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t size = sizeof address;
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&address), size) != 0 || ::listen(fd_, 8) != 0 ||
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &size) != 0) {
      throw std::runtime_error("cannot listen on 127.0.0.1");
    }
    port_ = ntohs(address.sin_port);
  }
  ~Listener() { ::close(fd_); }
  int port() const { return port_; }
  bool was_connected() const {
    const int client = ::accept(fd_, nullptr, nullptr);
    if (client < 0) return false;
    ::close(client);
    return true;
  }

 private:
  int fd_ = -1;
  int port_ = 0;
};

// The probe outside the sandbox, to show that what fails inside is the sandbox's doing.
std::string run_unsandboxed(const json::object& params) {
  const std::string command =
      "echo '" + json::serialize(params) + "' | " + std::string(ISLA_SANDBOX_PROBE);
  FILE* pipe = ::popen(command.c_str(), "r");
  std::string output;
  char buffer[4096];
  while (const auto got = std::fread(buffer, 1, sizeof buffer, pipe)) output.append(buffer, got);
  ::pclose(pipe);
  return output;
}

TEST_F(RealSandbox, ThereIsNoNetwork) {
  Listener listener;
  const json::object params{{"mode", "connect"}, {"port", listener.port()}};
  const auto inside = output_of(probe(params));
  EXPECT_EQ(inside.at("connected"), json::value(false)) << inside;
  EXPECT_FALSE(listener.was_connected());
  const auto outside = json::parse(run_unsandboxed(params));
  EXPECT_EQ(outside.at("connected"), json::value(true)) << outside;
  EXPECT_TRUE(listener.was_connected());
}

class ScratchDirectory {
 public:
  ScratchDirectory() {
    char pattern[] = "/tmp/isla-sandbox-test-XXXXXX";
    path_ = ::mkdtemp(pattern);
  }
  ~ScratchDirectory() { fs::remove_all(path_); }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

TEST_F(RealSandbox, TheFileSystemIsReadOnly) {
  ScratchDirectory task_dir;
  const auto inside = output_of(probe({{"mode", "write_root"}, {"dir", task_dir.path().string()}},
                                      generous_limits(), {}, {task_dir.path().string()}));
  for (const char* where : {"root", "usr", "task_dir"}) {
    EXPECT_EQ(inside.at(where).at("created"), json::value(false)) << where << ": " << inside;
  }
  EXPECT_EQ(inside.at("task_dir").at("error"), json::value("Read-only file system")) << inside;
  EXPECT_FALSE(fs::exists(task_dir.path() / "probe-output"));
}

TEST_F(RealSandbox, TmpIsPrivateAndEmptyAndTheRestIsHidden) {
  // Something in the host's /tmp and a file outside every bound directory: neither visible.
  ScratchDirectory host_tmp_entry;
  // Beside the probe's directory (which the sandbox does see), not in it.
  const fs::path secret = fs::path(ISLA_SANDBOX_PROBE).parent_path().parent_path() /
                          ("isla-sandbox-secret-" + std::to_string(::getpid()));
  std::ofstream(secret) << "secret";
  const auto inside = output_of(probe({{"mode", "surroundings"}, {"secret", secret.string()}}));
  fs::remove(secret);
  EXPECT_EQ(inside.at("tmp_entries"), json::value(0)) << inside;
  EXPECT_EQ(inside.at("tmp_write").at("created"), json::value(true)) << inside;
  EXPECT_EQ(inside.at("secret_visible"), json::value(false)) << inside;
  EXPECT_EQ(inside.at("home_visible"), json::value(false)) << inside;
  EXPECT_LE(inside.at("processes").as_int64(), 3) << inside;  // bwrap's init and the probe
  EXPECT_EQ(inside.at("environment_path"), json::value("/usr/bin:/bin")) << inside;
}

TEST_F(RealSandbox, ACrashIsASignalWithTheLastWordsOfStderr) {
  const auto result = probe({{"mode", "crash"}});
  EXPECT_EQ(result.end, SandboxEnd::signalled) << result.detail;
  EXPECT_EQ(result.signal, SIGSEGV);
  const auto outcome = outcome_of(result);
  EXPECT_EQ(outcome.failure, FailureKind::crashed);
  EXPECT_NE(outcome.error.find("about to crash"), std::string::npos) << outcome.error;
}

TEST_F(RealSandbox, ATaskThatFailsOnPurposeSaysWhy) {
  const auto outcome = outcome_of(probe({{"mode", "fail"}}));
  EXPECT_EQ(outcome.failure, FailureKind::failed);
  EXPECT_EQ(outcome.error, "exited with code 3: the probe failed on purpose");
}

TEST_F(RealSandbox, OutputThatIsNotJsonFails) {
  const auto outcome = outcome_of(probe({{"mode", "garbage"}}));
  EXPECT_EQ(outcome.failure, FailureKind::failed);
  EXPECT_NE(outcome.error.find("not JSON"), std::string::npos) << outcome.error;
}

TEST_F(RealSandbox, OutputPastItsLimitIsCutOff) {
  const auto result = probe({{"mode", "flood"}});
  EXPECT_EQ(result.end, SandboxEnd::output_too_large) << result.detail;
  EXPECT_LE(result.output.size(), 1u << 20);
  EXPECT_LT(elapsed_, 30s);
}

TEST_F(RealSandbox, TheSampleWordcountTaskRuns) {
  TaskCatalog catalog;
  add_external_types(catalog, ISLA_TASK_DIR);
  const auto* wordcount = catalog.find("wordcount");
  ASSERT_NE(wordcount, nullptr);
  const auto outcome =
      wordcount->run(json::object{{"text", "the quick  brown\nfox"}}, RunContext{});
  ASSERT_TRUE(outcome.ok) << outcome.error;
  EXPECT_EQ(outcome.result, json::parse(R"({"words": 4, "lines": 2, "bytes": 20})"));
}

TEST(MissingBubblewrap, EveryRunFailsWithAClearError) {
  BubblewrapSandbox sandbox("/nonexistent/bwrap");
  std::string why;
  EXPECT_FALSE(BubblewrapSandbox::available("/nonexistent/bwrap", &why));
  EXPECT_NE(why.find("/nonexistent/bwrap is missing"), std::string::npos) << why;
  SandboxRequest request;
  request.argv = {"/usr/bin/true"};
  const auto result = sandbox.run(request, {});
  EXPECT_EQ(result.end, SandboxEnd::unavailable);
  const auto outcome = outcome_of(result);
  EXPECT_EQ(outcome.failure, FailureKind::failed);
  EXPECT_NE(outcome.error.find("bubblewrap is not installed"), std::string::npos) << outcome.error;
}

}  // namespace
}  // namespace isla::tasks
