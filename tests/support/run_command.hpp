#pragma once
// Runs commands, the isla binary as a command-line user would, capturing what they print.
#include <chrono>
#include <string>
#include <vector>

namespace isla::testing {

struct CommandResult {
  int exit_code = -1;
  std::string output;  // stdout and stderr together
};

// Runs argv (argv[0] a path) until it exits or `timeout` passes (exit code -1 then).
CommandResult run_command(const std::vector<std::string>& argv,
                          std::chrono::milliseconds timeout = std::chrono::seconds(30));
CommandResult run_isla(const std::vector<std::string>& args);

}  // namespace isla::testing
