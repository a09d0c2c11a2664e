#include "support/run_command.hpp"

#include <unistd.h>

#include <atomic>
#include <filesystem>

#include "core/child_process.hpp"
#include "support/island.hpp"

namespace isla::testing {

CommandResult run_command(const std::vector<std::string>& argv, std::chrono::milliseconds timeout) {
  static std::atomic<int> counter{0};
  const auto log = std::filesystem::temp_directory_path() /
                   ("isla-cmd-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
  auto process = core::ChildProcess::spawn(argv, log.string());
  CommandResult result;
  result.exit_code = process.wait_for(timeout).value_or(-1);
  result.output = read_file(log);
  std::filesystem::remove(log);
  return result;
}

CommandResult run_isla(const std::vector<std::string>& args) {
  std::vector<std::string> argv = {ISLA_BINARY};
  argv.insert(argv.end(), args.begin(), args.end());
  return run_command(argv);
}

}  // namespace isla::testing
