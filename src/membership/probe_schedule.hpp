#pragma once
// Which member to probe next: SWIM's randomised round-robin. Every member is probed once per
// round, in an order shuffled anew each round, which bounds the time until a failed member is
// probed (unlike picking at random); a new member is put at a random place in the current
// round. A member can also be asked for out of turn, to confirm a suspicion quickly.
#include <deque>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "core/random.hpp"

namespace isla::membership {

class ProbeSchedule {
 public:
  explicit ProbeSchedule(core::Random& random) : random_(random) {}

  void add(const std::string& member);
  void remove(const std::string& member);
  // Probes `member` next, ahead of the round.
  void probe_soon(const std::string& member);
  // The next member that `eligible` accepts, or nullopt when it accepts none.
  std::optional<std::string> next(const std::function<bool(const std::string&)>& eligible);

  std::size_t size() const { return round_.size(); }

 private:
  bool contains(const std::string& member) const;
  void shuffle();

  core::Random& random_;
  std::vector<std::string> round_;
  std::size_t position_ = 0;  // round_[position_] is the next one in turn
  std::deque<std::string> soon_;
};

}  // namespace isla::membership
