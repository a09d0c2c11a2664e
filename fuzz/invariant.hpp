#pragma once
// How a fuzz target reports a broken invariant: name it and abort, so libFuzzer keeps the
// input that did it.
#include <cerrno>
#include <cstdio>
#include <cstdlib>

[[noreturn]] inline void fail(const char* what) {
  std::fprintf(stderr, "%s: invariant violated: %s\n", program_invocation_short_name, what);
  std::abort();
}
