#pragma once
// Passive ejection, as Envoy's outlier detection (consecutive 5xx, consecutive gateway
// failures): a backend whose real requests fail N times in a row is benched without waiting
// for the active checks, for base_ejection_time × the times it has been ejected (capped), and
// comes back by itself when that has passed. A backend that has kept out of trouble for a
// while has its past ejections forgotten one by one, so an old bad spell does not lengthen
// every later ejection.
//
// Never more than max_ejection_percent of the backends are ejected at once: when most
// backends fail together the fault is more likely shared (the store, the network) than
// theirs, and benching them all would only pile the load on the last ones.
//
// Works on the owner's BackendSet (its `ejected` flags, which the pickers read): pure, times
// come in, no timers; the driver calls tick() at next_return().
#include <chrono>
#include <optional>
#include <unordered_map>
#include <vector>

#include "balancer/backend_set.hpp"
#include "core/clock.hpp"

namespace isla::balancer {

// What became of one request forwarded to a backend.
enum class Outcome {
  success,          // any answer that is not a 5xx
  server_error,     // a 5xx that is not a gateway failure
  gateway_failure,  // 502, 503, 504, or no answer at all: refused, reset, timed out
};

struct OutlierOptions {
  int consecutive_errors = 5;  // Envoy's consecutive_5xx: server errors or gateway failures
  int consecutive_gateway_failures = 3;  // gateway failures alone: stronger evidence, acts sooner
  std::chrono::milliseconds base_ejection_time{5000};
  std::chrono::milliseconds max_ejection_time{300000};
  // Each this long back in service without an ejection forgets one past ejection.
  std::chrono::milliseconds forgive_after{30000};
  // Envoy's default is 10 %, for large clusters; a balancer before three gateways should be
  // able to bench one of them, and with 50 % it may bench one of two or two of five.
  int max_ejection_percent = 50;
};

struct Ejection {
  BackendId id = 0;
  core::SteadyTime until{};
  int times = 0;  // this one included, after forgiveness
};

class OutlierDetector {
 public:
  // Throws std::invalid_argument on thresholds below 1, a non-positive time or a percentage
  // outside 0..100.
  OutlierDetector(BackendSet& backends, OutlierOptions options = {});

  // The ejection this outcome caused, if any. Outcomes of unknown or already ejected backends
  // (requests that were in flight when it was benched) change nothing.
  std::optional<Ejection> record(BackendId id, Outcome outcome, core::SteadyTime now);
  // Returns the backends whose ejection is over, in id order, and forgets removed backends.
  std::vector<BackendId> tick(core::SteadyTime now);
  // When tick() next has something to return.
  std::optional<core::SteadyTime> next_return() const;

 private:
  struct Record {
    int errors = 0;            // consecutive server errors or gateway failures
    int gateway_failures = 0;  // consecutive gateway failures
    int times_ejected = 0;
    bool ejected = false;
    core::SteadyTime ejected_until{};
    core::SteadyTime returned_at{};
  };

  bool over_threshold(const Record& record) const;
  bool may_eject_another() const;
  Ejection eject(BackendId id, Record& record, core::SteadyTime now);

  BackendSet& backends_;
  OutlierOptions options_;
  std::unordered_map<BackendId, Record> records_;
};

}  // namespace isla::balancer
