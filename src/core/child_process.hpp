#pragma once
// A child process started from argv, in its own process group, that dies with its parent
// (PR_SET_PDEATHSIG) so that neither `isla up` nor a crashed test leaves servers behind.
#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace isla::core {

class ChildProcess {
 public:
  // Starts argv[0] with argv; stdout and stderr go to `log_file` when given (appended),
  // else they are inherited. Throws std::runtime_error when the process cannot start.
  static ChildProcess spawn(const std::vector<std::string>& argv, const std::string& log_file = {});

  ChildProcess(ChildProcess&& other) noexcept;
  ChildProcess& operator=(ChildProcess&& other) noexcept;
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;
  // Kills (SIGKILL) and reaps a child that is still running.
  ~ChildProcess();

  pid_t pid() const { return pid_; }
  bool running();
  void signal(int number) const;
  // The exit code (128 + signal number when killed by a signal), if it has exited.
  std::optional<int> try_wait();
  std::optional<int> wait_for(std::chrono::milliseconds timeout);

 private:
  explicit ChildProcess(pid_t pid) : pid_(pid) {}
  pid_t pid_ = -1;
  std::optional<int> exit_code_;
};

// The path of the running executable, for re-executing ourselves.
std::string self_executable();

}  // namespace isla::core
