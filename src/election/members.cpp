#include "election/members.hpp"

#include <algorithm>

namespace isla::election {

namespace {

// Whether `x` lies on the circle of ids strictly after `from`, up to and including `to`.
bool on_arc(const NodeId& from, const NodeId& x, const NodeId& to) {
  if (from < to) return from < x && x <= to;
  return x > from || x <= to;  // the arc wraps (or covers the whole circle when from == to)
}

}  // namespace

Members::Members(Candidate self) : self_(std::move(self)) {
  by_id_.push_back(self_);
}

void Members::assign(std::vector<Candidate> alive) {
  for (auto& member : alive) {
    const auto announced = announced_.find(member.id);
    if (member.priority == 0 && announced != announced_.end()) member.priority = announced->second;
  }
  alive.push_back(self_);
  std::erase_if(alive, [&](const Candidate& c) { return c.id == self_.id && !(c == self_); });
  std::stable_sort(alive.begin(), alive.end(),
                   [](const Candidate& a, const Candidate& b) { return a.id < b.id; });
  alive.erase(std::unique(alive.begin(), alive.end(),
                          [](const Candidate& a, const Candidate& b) { return a.id == b.id; }),
              alive.end());
  by_id_ = std::move(alive);
}

void Members::heard_from(const Candidate& sender) {
  if (sender.id == self_.id) return;
  announced_[sender.id] = sender.priority;
  for (auto& member : by_id_) {
    if (member.id == sender.id) member.priority = sender.priority;
  }
}

void Members::set_self_priority(std::uint32_t priority) {
  self_.priority = priority;
  for (auto& member : by_id_) {
    if (member.id == self_.id) member.priority = priority;
  }
}

bool Members::contains(const NodeId& id) const {
  return std::any_of(by_id_.begin(), by_id_.end(), [&](const Candidate& c) { return c.id == id; });
}

std::vector<NodeId> Members::others() const {
  std::vector<NodeId> out;
  for (const auto& member : by_id_) {
    if (member.id != self_.id) out.push_back(member.id);
  }
  return out;
}

std::vector<Candidate> Members::above_self() const {
  std::vector<Candidate> out;
  for (const auto& member : by_id_) {
    if (outranks(member, self_)) out.push_back(member);
  }
  return out;
}

std::vector<NodeId> Members::arc_to(const NodeId& stop) const {
  const auto here = std::find_if(by_id_.begin(), by_id_.end(),
                                 [&](const Candidate& c) { return c.id == self_.id; });
  const auto start = static_cast<std::size_t>(here - by_id_.begin());
  std::vector<NodeId> out;
  for (std::size_t step = 1; step < by_id_.size(); ++step) {
    const auto& member = by_id_[(start + step) % by_id_.size()];
    if (!on_arc(self_.id, member.id, stop)) break;
    out.push_back(member.id);
  }
  return out;
}

}  // namespace isla::election
