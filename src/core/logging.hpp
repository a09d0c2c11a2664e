#pragma once
// One log format for every role: time, level, role, then key=value fields.
#include <string>

namespace isla::core {

// level: trace|debug|info|warn|error; throws std::invalid_argument on anything else.
void setup_logging(const std::string& role, const std::string& level);

}  // namespace isla::core
