#pragma once
// Runs a function when the scope ends, however it ends: a test whose assertion returns
// early still wakes and joins the threads it started.
#include <functional>
#include <utility>

namespace isla::testing {

class ScopeExit {
 public:
  explicit ScopeExit(std::function<void()> run) : run_(std::move(run)) {}
  ~ScopeExit() { run_(); }
  ScopeExit(const ScopeExit&) = delete;
  ScopeExit& operator=(const ScopeExit&) = delete;

 private:
  std::function<void()> run_;
};

}  // namespace isla::testing
