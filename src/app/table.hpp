#pragma once
// Aligned text tables for people (the --json flag is for scripts).
#include <ostream>
#include <string>
#include <vector>

namespace isla::app {

void print_table(std::ostream& out, const std::vector<std::string>& headers,
                 const std::vector<std::vector<std::string>>& rows);

}  // namespace isla::app
