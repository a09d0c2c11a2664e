#pragma once
// The piece server's side of a partitioned catalogue: what its gateways told it to hold.
// Each gateway computes an assignment from its own view of the island, and views differ for
// a moment after a join or a leave; the server holds the union of the latest assignment of
// every gateway heard recently, so a figure is dropped only when no gateway still wants it
// here. Pure: time is an argument.
#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "core/clock.hpp"

namespace isla::partition {

class Assignments {
 public:
  // A gateway silent for longer than `gateway_timeout` no longer counts.
  explicit Assignments(std::chrono::milliseconds gateway_timeout)
      : gateway_timeout_(gateway_timeout) {}

  // Records `gateway`'s assignment, sent by its incarnation `incarnation` as datagram `seq`.
  // False (and ignored) when it is older than one already recorded: reordered on the way.
  bool update(const std::string& gateway, std::uint64_t incarnation, std::uint64_t seq,
              std::vector<std::string> figures, core::SteadyTime now);

  // The figures to hold; nullopt when no gateway was heard within the timeout (then the
  // server keeps what it holds: losing its gateways is no reason to drop figures).
  std::optional<std::set<std::string>> wanted(core::SteadyTime now) const;

 private:
  struct Latest {
    std::uint64_t incarnation = 0;
    std::uint64_t seq = 0;
    std::vector<std::string> figures;
    core::SteadyTime when;
  };
  std::chrono::milliseconds gateway_timeout_;
  std::map<std::string, Latest> latest_;
};

}  // namespace isla::partition
