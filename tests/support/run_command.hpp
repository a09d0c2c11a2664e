#pragma once
// Runs the isla binary as a command-line user would, capturing what it prints.
#include <string>
#include <vector>

namespace isla::testing {

struct CommandResult {
  int exit_code = -1;
  std::string output;  // stdout and stderr together
};

CommandResult run_isla(const std::vector<std::string>& args);

}  // namespace isla::testing
