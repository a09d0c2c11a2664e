#pragma once
// A steady client load against a gateway, bounded in time and count, that records every
// failed request.
#include <atomic>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/endpoint.hpp"

namespace isla::testing {

class SteadyLoad {
 public:
  SteadyLoad(core::Endpoint gateway, std::vector<std::string> figures, int clients = 4);
  ~SteadyLoad();

  std::uint64_t succeeded() const { return succeeded_; }
  std::vector<std::string> failures() const;
  // Waits until `more` further requests have succeeded (bounded); false on timeout.
  bool wait_for_more(std::uint64_t more, std::chrono::milliseconds timeout) const;
  void stop();

 private:
  void run(int client);

  core::Endpoint gateway_;
  std::vector<std::string> figures_;
  std::atomic<bool> stop_{false};
  std::atomic<std::uint64_t> succeeded_{0};
  mutable std::mutex mutex_;
  std::vector<std::string> failures_;
  std::vector<std::thread> threads_;
};

}  // namespace isla::testing
