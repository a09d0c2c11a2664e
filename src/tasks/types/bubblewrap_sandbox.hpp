#pragma once
// Runs an external task under bubblewrap: every namespace unshared (so no network and no
// other processes visible), a read-only root holding only /usr (and its /bin, /lib links),
// the dynamic loader's cache and the task's own directories, a fresh empty /tmp, no
// capabilities, an empty environment. RLIMIT_CPU and RLIMIT_AS are set in the forked child
// before bwrap is executed (limits survive exec and namespaces); the wall clock is kept
// here, and the whole sandbox is killed when it runs out.
//
// Which limit a failed run exceeded. bwrap's exit status (128 + N for a program killed by
// signal N) is all that reaches us: the program's rusage stays inside the sandbox's PID
// namespace. So:
//   - limit_wall: we killed it at the wall-clock deadline.
//   - limit_cpu: it died of SIGXCPU (RLIMIT_CPU's soft limit), or of a SIGKILL we did not send
//     after at least the CPU limit in wall-clock time (the hard limit, a second later, for a
//     program that ignores SIGXCPU).
//   - limit_memory: it failed (a signal, or a non-zero exit without a result) and its stderr
//     shows an allocation failure (std::bad_alloc, "Cannot allocate memory", "out of memory",
//     MemoryError, "memory exhausted"), or it died of a SIGKILL we did not send that is not the
//     CPU limit's (the kernel's OOM killer). RLIMIT_AS makes an allocation fail rather than
//     kill, and the kernel records no such failure, so what the program says about it is the
//     only witness: a program that swallows the failure and exits quietly is reported as
//     crashed (or failed, with its own error).
// CPU time is enforced in whole seconds (RLIMIT_CPU's unit): cpu_ms is rounded up.
#include <string>

#include "tasks/types/sandbox.hpp"

namespace isla::tasks {

inline constexpr const char* kDefaultBwrapPath = "/usr/bin/bwrap";

class BubblewrapSandbox final : public Sandbox {
 public:
  explicit BubblewrapSandbox(std::string bwrap_path = kDefaultBwrapPath)
      : bwrap_path_(std::move(bwrap_path)) {}
  // False (with the reason) when bwrap is missing or cannot create its namespaces here.
  static bool available(const std::string& bwrap_path, std::string* why = nullptr);
  SandboxResult run(const SandboxRequest& request, const RunContext& context) override;
  // The bwrap command line for a request (for logs and tests).
  std::vector<std::string> command_line(const SandboxRequest& request) const;

 private:
  std::string bwrap_path_;
};

}  // namespace isla::tasks
