#include "membership/probe_schedule.hpp"

#include <algorithm>

namespace isla::membership {

bool ProbeSchedule::contains(const std::string& member) const {
  return std::find(round_.begin(), round_.end(), member) != round_.end();
}

void ProbeSchedule::add(const std::string& member) {
  if (contains(member)) return;
  // Among those not yet probed this round, so that it is probed within the round; always at
  // the end would make the newest member the last one probed in every round after a join.
  const auto remaining = round_.size() - position_;
  const auto at = position_ + random_.below(remaining + 1);
  round_.insert(round_.begin() + static_cast<std::ptrdiff_t>(at), member);
}

void ProbeSchedule::remove(const std::string& member) {
  auto it = std::find(round_.begin(), round_.end(), member);
  if (it != round_.end()) {
    if (static_cast<std::size_t>(it - round_.begin()) < position_) --position_;
    round_.erase(it);
  }
  std::erase(soon_, member);
}

void ProbeSchedule::probe_soon(const std::string& member) {
  if (!contains(member) || std::find(soon_.begin(), soon_.end(), member) != soon_.end()) return;
  soon_.push_back(member);
}

void ProbeSchedule::shuffle() {
  for (std::size_t i = round_.size(); i > 1; --i) {
    std::swap(round_[i - 1], round_[random_.below(i)]);
  }
  position_ = 0;
}

std::optional<std::string> ProbeSchedule::next(
    const std::function<bool(const std::string&)>& eligible) {
  while (!soon_.empty()) {
    auto member = std::move(soon_.front());
    soon_.pop_front();
    if (eligible(member)) return member;
  }
  // The rest of this round, then a whole new one: every member is looked at at least once.
  for (std::size_t looked = 0; looked <= 2 * round_.size(); ++looked) {
    if (position_ >= round_.size()) shuffle();
    if (round_.empty()) return std::nullopt;
    const auto& member = round_[position_++];
    if (eligible(member)) return member;
  }
  return std::nullopt;
}

}  // namespace isla::membership
