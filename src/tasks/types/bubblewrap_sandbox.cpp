#include "tasks/types/bubblewrap_sandbox.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <climits>
#include <cstring>
#include <filesystem>
#include <optional>

namespace isla::tasks {

namespace {

using Clock = std::chrono::steady_clock;
constexpr std::size_t kErrorTailBytes = 4096;
constexpr auto kPollInterval = std::chrono::milliseconds(20);
// After the sandbox has exited, how long its pipes may take to report end-of-file.
constexpr auto kDrainGrace = std::chrono::seconds(2);

// Owns a file descriptor.
class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  Fd(Fd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  Fd& operator=(Fd&& other) noexcept {
    reset();
    fd_ = std::exchange(other.fd_, -1);
    return *this;
  }
  ~Fd() { reset(); }
  int get() const { return fd_; }
  bool open() const { return fd_ >= 0; }
  void reset() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  int fd_ = -1;
};

struct Channels {
  Fd stdin_parent, stdin_child;  // a socket pair: send(MSG_NOSIGNAL) cannot raise SIGPIPE
  Fd stdout_parent, stdout_child;
  Fd stderr_parent, stderr_child;
};

std::optional<Channels> open_channels(std::string* why) {
  Channels channels;
  int pair[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0) {
    *why = std::string("socketpair: ") + std::strerror(errno);
    return std::nullopt;
  }
  channels.stdin_parent = Fd(pair[0]);
  channels.stdin_child = Fd(pair[1]);
  if (::pipe2(pair, O_CLOEXEC) != 0) {
    *why = std::string("pipe: ") + std::strerror(errno);
    return std::nullopt;
  }
  channels.stdout_parent = Fd(pair[0]);
  channels.stdout_child = Fd(pair[1]);
  if (::pipe2(pair, O_CLOEXEC) != 0) {
    *why = std::string("pipe: ") + std::strerror(errno);
    return std::nullopt;
  }
  channels.stderr_parent = Fd(pair[0]);
  channels.stderr_child = Fd(pair[1]);
  for (int fd :
       {channels.stdin_parent.get(), channels.stdout_parent.get(), channels.stderr_parent.get()}) {
    ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
  }
  return channels;
}

std::uint64_t cpu_limit_seconds(const TaskLimits& limits) {
  const auto ms = std::max<std::int64_t>(limits.cpu.count(), 1);
  return static_cast<std::uint64_t>((ms + 999) / 1000);
}

void close_inherited_fds() {
#ifdef SYS_close_range
  if (::syscall(SYS_close_range, 3u, ~0u, 0u) == 0) return;
#endif
  for (int fd = 3; fd < 65536; ++fd) ::close(fd);
}

// In the forked child: only async-signal-safe calls from fork to exec.
[[noreturn]] void exec_in_child(const Channels& channels, pid_t parent, char* const* argv,
                                const TaskLimits& limits) {
  ::setpgid(0, 0);
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (::getppid() != parent) ::_exit(127);
  ::dup2(channels.stdin_child.get(), STDIN_FILENO);
  ::dup2(channels.stdout_child.get(), STDOUT_FILENO);
  ::dup2(channels.stderr_child.get(), STDERR_FILENO);
  close_inherited_fds();
  struct sigaction default_action {};
  default_action.sa_handler = SIG_DFL;
  for (int number : {SIGPIPE, SIGXCPU, SIGTERM, SIGINT, SIGHUP}) {
    ::sigaction(number, &default_action, nullptr);
  }
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  const rlim_t cpu = cpu_limit_seconds(limits);
  const rlimit cpu_limit{cpu, cpu + 1};  // SIGXCPU at the limit, SIGKILL a second later
  const rlimit memory_limit{limits.memory_bytes, limits.memory_bytes};
  const rlimit no_core{0, 0};
  if (::setrlimit(RLIMIT_CPU, &cpu_limit) != 0 || ::setrlimit(RLIMIT_AS, &memory_limit) != 0 ||
      ::setrlimit(RLIMIT_CORE, &no_core) != 0) {
    ::_exit(126);
  }
  char* const empty_environment[] = {nullptr};
  ::execve(argv[0], argv, empty_environment);
  ::_exit(127);
}

// stderr as it arrives, keeping only the tail.
void append_tail(std::string& tail, const char* data, std::size_t size) {
  tail.append(data, size);
  if (tail.size() > 2 * kErrorTailBytes) tail.erase(0, tail.size() - kErrorTailBytes);
}

// Reads what is there; returns false at end-of-file (or an error).
template <typename Sink>
bool read_available(Fd& fd, Sink&& sink) {
  std::array<char, 16384> buffer;
  for (;;) {
    const ssize_t got = ::read(fd.get(), buffer.data(), buffer.size());
    if (got > 0) {
      if (!sink(buffer.data(), static_cast<std::size_t>(got))) return true;
      continue;
    }
    if (got < 0 && (errno == EAGAIN || errno == EINTR)) return true;
    fd.reset();
    return false;
  }
}

bool mentions_allocation_failure(const std::string& text) {
  static constexpr const char* kMarkers[] = {"bad_alloc",     "Cannot allocate memory",
                                             "out of memory", "Out of memory",
                                             "MemoryError",   "memory exhausted"};
  return std::any_of(std::begin(kMarkers), std::end(kMarkers),
                     [&](const char* marker) { return text.find(marker) != std::string::npos; });
}

// The end of a run we did not cut short: the program's exit, or the limit it ran into.
// bwrap's exit status is all we learn of the program (its rusage stays inside the sandbox's
// PID namespace), hence the rules in bubblewrap_sandbox.hpp.
void classify_exit(int status, std::chrono::milliseconds elapsed, const TaskLimits& limits,
                   SandboxResult& result) {
  if (WIFSIGNALED(status)) {
    result.end = SandboxEnd::signalled;
    result.signal = WTERMSIG(status);
  } else {
    const int code = WEXITSTATUS(status);
    // bwrap exits 128 + N when the program died of signal N.
    if (code > 128 && code < 128 + 65) {
      result.end = SandboxEnd::signalled;
      result.signal = code - 128;
    } else {
      result.end = SandboxEnd::exited;
      result.exit_code = code;
      if (code == 1 && result.error_tail.rfind("bwrap:", 0) == 0) {
        result.end = SandboxEnd::unavailable;
        result.detail = "bubblewrap could not set up the sandbox: " + result.error_tail;
        return;
      }
    }
  }
  const bool failed = result.end == SandboxEnd::signalled || result.exit_code != 0;
  if (!failed) return;
  const auto cpu_limit = std::chrono::seconds(cpu_limit_seconds(limits));
  const bool killed = result.end == SandboxEnd::signalled && result.signal == SIGKILL;
  if ((result.end == SandboxEnd::signalled && result.signal == SIGXCPU) ||
      (killed && elapsed >= cpu_limit)) {
    result.end = SandboxEnd::limit_cpu;
    result.detail = "exceeded its CPU time limit of " + std::to_string(limits.cpu.count()) + " ms";
    return;
  }
  if (killed || mentions_allocation_failure(result.error_tail)) {
    result.end = SandboxEnd::limit_memory;
    result.detail = "exceeded its memory limit of " + std::to_string(limits.memory_bytes >> 20) +
                    " MiB (address space)";
  }
}

void add_binding(std::vector<std::string>& args, const std::filesystem::path& path) {
  std::error_code error;
  const auto status = std::filesystem::symlink_status(path, error);
  if (error) return;
  if (std::filesystem::is_symlink(status)) {
    args.insert(args.end(),
                {"--symlink", std::filesystem::read_symlink(path, error).string(), path.string()});
  } else if (std::filesystem::is_directory(status)) {
    args.insert(args.end(), {"--ro-bind", path.string(), path.string()});
  }
}

}  // namespace

std::vector<std::string> BubblewrapSandbox::command_line(const SandboxRequest& request) const {
  std::vector<std::string> args = {bwrap_path_,     "--unshare-all", "--die-with-parent",
                                   "--new-session", "--cap-drop",    "ALL",
                                   "--clearenv",    "--setenv",      "PATH",
                                   "/usr/bin:/bin", "--setenv",      "HOME",
                                   "/tmp",          "--setenv",      "TMPDIR",
                                   "/tmp",          "--setenv",      "LANG",
                                   "C.UTF-8",       "--ro-bind",     "/usr",
                                   "/usr"};
  for (const char* top : {"/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"}) {
    add_binding(args, top);
  }
  for (const char* loader_file :
       {"/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/ld.so.conf.d", "/etc/alternatives"}) {
    args.insert(args.end(), {"--ro-bind-try", loader_file, loader_file});
  }
  // /tmp lives in memory: bound by the same budget as the program's address space.
  args.insert(args.end(), {"--dev", "/dev", "--proc", "/proc", "--size",
                           std::to_string(request.limits.memory_bytes), "--tmpfs", "/tmp"});
  // After /tmp, so that a task directory under /tmp is not hidden by the fresh one.
  for (const auto& directory : request.read_only) {
    args.insert(args.end(), {"--ro-bind", directory, directory});
  }
  args.insert(args.end(), {"--remount-ro", "/", "--chdir", "/tmp", "--"});
  args.insert(args.end(), request.argv.begin(), request.argv.end());
  return args;
}

bool BubblewrapSandbox::available(const std::string& bwrap_path, std::string* why) {
  if (::access(bwrap_path.c_str(), X_OK) != 0) {
    if (why) *why = bwrap_path + " is missing (install Debian's bubblewrap package)";
    return false;
  }
  BubblewrapSandbox sandbox(bwrap_path);
  SandboxRequest probe;
  probe.argv = {"/usr/bin/true"};
  probe.limits.wall = std::chrono::seconds(30);
  const auto result = sandbox.run(probe, RunContext{});
  if (result.end == SandboxEnd::exited && result.exit_code == 0) return true;
  if (why) {
    *why = "bubblewrap cannot run here: " +
           (result.detail.empty() ? result.error_tail : result.detail);
  }
  return false;
}

SandboxResult BubblewrapSandbox::run(const SandboxRequest& request, const RunContext& context) {
  SandboxResult result;
  if (request.argv.empty()) {
    result.detail = "no program to run";
    return result;
  }
  if (::access(bwrap_path_.c_str(), X_OK) != 0) {
    result.detail = "bubblewrap is not installed (" + bwrap_path_ +
                    " is missing): external tasks cannot run on this node";
    return result;
  }
  const auto args = command_line(request);
  std::vector<char*> argv;
  for (const auto& arg : args) argv.push_back(const_cast<char*>(arg.c_str()));
  argv.push_back(nullptr);
  std::string why;
  auto channels = open_channels(&why);
  if (!channels) {
    result.detail = why;
    return result;
  }

  const auto started = Clock::now();
  const auto wall_deadline = std::min(context.deadline, started + request.limits.wall);
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid < 0) {
    result.detail = std::string("fork: ") + std::strerror(errno);
    return result;
  }
  if (pid == 0) exec_in_child(*channels, parent, argv.data(), request.limits);
  ::setpgid(pid, pid);  // as the child does too: whichever runs first, kill(-pid) then works
  channels->stdin_child.reset();
  channels->stdout_child.reset();
  channels->stderr_child.reset();

  std::size_t input_sent = 0;
  if (request.input.empty()) channels->stdin_parent.reset();
  std::optional<SandboxEnd> verdict;  // set when we end the run ourselves
  std::optional<Clock::time_point> exited_at;
  int status = 0;
  const auto kill_sandbox = [&](SandboxEnd why_killed) {
    if (!verdict) verdict = why_killed;
    ::kill(-pid, SIGKILL);
    ::kill(pid, SIGKILL);
  };

  for (;;) {
    if (!exited_at) {
      const pid_t waited = ::waitpid(pid, &status, WNOHANG);
      if (waited == pid) exited_at = Clock::now();
      // SIGCHLD ignored by the host process reaps children itself: the status is lost, and the
      // output alone decides.
      if (waited < 0 && errno == ECHILD) exited_at = Clock::now();
    }
    const bool pipes_open = channels->stdout_parent.open() || channels->stderr_parent.open();
    if (exited_at && (!pipes_open || Clock::now() - *exited_at > kDrainGrace)) break;
    if (!exited_at && !verdict) {
      if (context.stop != nullptr && context.stop->load(std::memory_order_relaxed)) {
        kill_sandbox(SandboxEnd::cancelled);
      } else if (Clock::now() >= wall_deadline) {
        kill_sandbox(SandboxEnd::limit_wall);
      }
    }

    std::array<pollfd, 3> fds{};
    fds[0] = {channels->stdin_parent.get(), POLLOUT, 0};
    fds[1] = {channels->stdout_parent.get(), POLLIN, 0};
    fds[2] = {channels->stderr_parent.get(), POLLIN, 0};
    auto timeout = kPollInterval;
    if (!verdict && !exited_at) {
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(wall_deadline - Clock::now());
      timeout = std::clamp(left, std::chrono::milliseconds(0), kPollInterval);
    }
    ::poll(fds.data(), fds.size(), static_cast<int>(timeout.count()));

    if (channels->stdin_parent.open() && (fds[0].revents & (POLLOUT | POLLERR | POLLHUP))) {
      const ssize_t sent = ::send(channels->stdin_parent.get(), request.input.data() + input_sent,
                                  request.input.size() - input_sent, MSG_NOSIGNAL | MSG_DONTWAIT);
      if (sent > 0) input_sent += static_cast<std::size_t>(sent);
      // A program that stops reading its input early is its own business.
      if ((sent < 0 && errno != EAGAIN && errno != EINTR) || input_sent == request.input.size()) {
        channels->stdin_parent.reset();
      }
    }
    if (channels->stdout_parent.open() && (fds[1].revents & (POLLIN | POLLHUP | POLLERR))) {
      read_available(channels->stdout_parent, [&](const char* data, std::size_t size) {
        if (result.output.size() + size > request.limits.output_bytes) {
          kill_sandbox(SandboxEnd::output_too_large);
          channels->stdout_parent.reset();
          return false;
        }
        result.output.append(data, size);
        return true;
      });
    }
    if (channels->stderr_parent.open() && (fds[2].revents & (POLLIN | POLLHUP | POLLERR))) {
      read_available(channels->stderr_parent, [&](const char* data, std::size_t size) {
        append_tail(result.error_tail, data, size);
        return true;
      });
    }
  }
  if (result.error_tail.size() > kErrorTailBytes) {
    result.error_tail.erase(0, result.error_tail.size() - kErrorTailBytes);
  }

  const auto elapsed =
      std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - started).count();
  switch (verdict.value_or(SandboxEnd::exited)) {
    case SandboxEnd::limit_wall:
      result.end = SandboxEnd::limit_wall;
      result.detail = "exceeded its wall-clock limit of " +
                      std::to_string(request.limits.wall.count()) + " ms (killed after " +
                      std::to_string(elapsed) + " ms)";
      return result;
    case SandboxEnd::cancelled:
      result.end = SandboxEnd::cancelled;
      result.detail = "the run was asked to stop";
      return result;
    case SandboxEnd::output_too_large:
      result.end = SandboxEnd::output_too_large;
      result.detail = "wrote more than its output limit of " +
                      std::to_string(request.limits.output_bytes) + " bytes";
      return result;
    default:
      break;
  }
  classify_exit(status, std::chrono::milliseconds(elapsed), request.limits, result);
  return result;
}

}  // namespace isla::tasks
