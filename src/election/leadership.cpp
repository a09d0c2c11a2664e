#include "election/leadership.hpp"

#include <utility>

namespace isla::election {

Leadership::Leadership(Candidate self, LivenessOptions liveness, Term initial_term)
    : self_(std::move(self)), liveness_(liveness), term_(initial_term) {}

void Leadership::set_priority(std::uint32_t priority) {
  self_.priority = priority;
  if (leader_ && leader_->id == self_.id) leader_->priority = priority;
}

std::optional<NodeId> Leadership::leader_id() const {
  return leader_ ? std::optional(leader_->id) : std::nullopt;
}

bool Leadership::observe_term(Term term, core::SteadyTime now) {
  if (term < term_) return false;
  if (term > term_) {
    if (is_leader()) record(EventKind::stepped_down, "saw a higher term");
    term_ = term;
    if (leader_) leaderless_since_ = now;
    leader_.reset();
  }
  return true;
}

void Leadership::lead(Term term, core::SteadyTime now) {
  if (is_leader() && term == term_) return;
  term_ = term;
  leader_ = self_;
  next_heartbeat_ = now + liveness_.heartbeat_interval;
  record(EventKind::leader_changed);
}

void Leadership::follow(const Candidate& leader, Term term, core::SteadyTime now) {
  last_heard_ = now;
  if (term < term_) return;
  const bool changed = term > term_ || !leader_ || leader_->id != leader.id;
  if (!changed) return;
  if (is_leader() && leader.id != self_.id) record(EventKind::stepped_down, "another leads");
  term_ = term;
  leader_ = leader;
  if (leader.id == self_.id) next_heartbeat_ = now + liveness_.heartbeat_interval;
  record(EventKind::leader_changed);
}

void Leadership::lose_leader(const std::string& why, core::SteadyTime now) {
  if (!leader_) return;
  leader_.reset();
  leaderless_since_ = now;
  record(EventKind::leader_lost, why);
}

bool Leadership::leader_silent(core::SteadyTime now) const {
  return leader_ && !is_leader() && now - last_heard_ >= liveness_.leader_timeout();
}

bool Leadership::leaderless_too_long(core::SteadyTime now) const {
  return !leader_ && now - leaderless_since_ >= liveness_.leader_timeout();
}

std::vector<Outgoing> Leadership::heartbeats(core::SteadyTime now, const Members& members) {
  std::vector<Outgoing> out;
  if (!is_leader() || now < next_heartbeat_) return out;
  next_heartbeat_ = now + liveness_.heartbeat_interval;
  for (const auto& peer : members.others()) out.push_back({peer, message(MessageKind::heartbeat)});
  return out;
}

ElectionMessage Leadership::message(MessageKind kind) const {
  ElectionMessage message;
  message.kind = kind;
  message.from = self_;
  message.term = term_;
  return message;
}

Outgoing Leadership::refute(const ElectionMessage& stale) const {
  auto reply = message(MessageKind::answer);
  reply.leader = leader_;
  return {stale.from.id, std::move(reply)};
}

void Leadership::learn_leader(const ElectionMessage& answer, core::SteadyTime now) {
  // Never itself: a node that restarts hears of the term it led before, and must win a new one.
  if (leader_ || !answer.leader || answer.term != term_ || answer.leader->id == self_.id) return;
  follow(*answer.leader, answer.term, now);
}

void Leadership::record(EventKind kind, std::string detail) {
  events_.push_back({kind, term_, leader_id(), std::move(detail)});
}

std::vector<ElectionEvent> Leadership::take_events() {
  return std::exchange(events_, {});
}

}  // namespace isla::election
