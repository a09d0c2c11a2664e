#pragma once
// Where an external task's executable runs: an interface so that tests of ExternalTaskType
// can swap the real sandbox (BubblewrapSandbox) for a scripted one.
#include <string>
#include <vector>

#include "tasks/types/task_type.hpp"

namespace isla::tasks {

struct SandboxRequest {
  std::vector<std::string> argv;       // argv[0]: an absolute path
  std::vector<std::string> read_only;  // directories the program may read (its task directory)
  std::string input;                   // written to its stdin, then stdin is closed
  TaskLimits limits;                   // wall, cpu, memory_bytes, output_bytes
};

// How a sandboxed run ended. `limit_*`, `output_too_large` and `cancelled` are the sandbox's
// verdicts; `exited`/`signalled` are the program's own end.
enum class SandboxEnd {
  exited,
  signalled,
  limit_cpu,
  limit_memory,
  limit_wall,
  output_too_large,
  cancelled,
  unavailable,  // the sandbox could not start the program (no bwrap, fork failed, …)
};

struct SandboxResult {
  SandboxEnd end = SandboxEnd::unavailable;
  int exit_code = 0;       // exited
  int signal = 0;          // signalled
  std::string output;      // stdout, at most limits.output_bytes
  std::string error_tail;  // the last 4 KiB of stderr
  std::string detail;      // the sandbox's own words on what happened
};

class Sandbox {
 public:
  virtual ~Sandbox() = default;
  // Blocks until the program has ended (or been ended); must not throw.
  virtual SandboxResult run(const SandboxRequest& request, const RunContext& context) = 0;
};

}  // namespace isla::tasks
