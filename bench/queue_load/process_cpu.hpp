#pragma once
// CPU time of other processes (the servers under test), read from /proc, so that a bench
// binary can take it exactly around its measured phase rather than around its whole run.
#include <vector>

namespace isla::bench {

// utime + stime of each process (all its threads), summed, in seconds; a pid that is gone
// or unreadable counts 0.
double cpu_seconds(const std::vector<int>& pids);

// This process's own user + system CPU so far, in seconds (getrusage).
double own_cpu_seconds();

}  // namespace isla::bench
