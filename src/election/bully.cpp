#include "election/bully.hpp"

namespace isla::election {

BullyElector::BullyElector(BullyOptions options)
    : options_(options),
      leadership_(options.self, options.liveness, options.initial_term),
      members_(options.self) {}

std::vector<Outgoing> BullyElector::start(core::SteadyTime now) {
  started_ = true;
  leadership_.start(now);
  std::vector<Outgoing> out;
  if (members_.others().empty()) start_election(now, out);
  return out;
}

std::vector<Outgoing> BullyElector::on_message(const ElectionMessage& message,
                                               core::SteadyTime now) {
  std::vector<Outgoing> out;
  if (!started_ || message.from.id == self().id) return out;
  members_.heard_from(message.from);
  if (!leadership_.observe_term(message.term, now)) {
    // An old leader (or a node that missed the last takeover) learns the newer term at once.
    if (message.kind != MessageKind::answer) out.push_back(leadership_.refute(message));
    return out;
  }
  switch (message.kind) {
    case MessageKind::election:
      on_election(message, now, out);
      break;
    case MessageKind::answer:
      on_answer(message, now, out);
      break;
    case MessageKind::coordinator:
    case MessageKind::heartbeat:
      on_leader(message, now, out);
      break;
    default:
      break;  // the ring's messages
  }
  return out;
}

std::vector<Outgoing> BullyElector::tick(core::SteadyTime now) {
  std::vector<Outgoing> out;
  if (!started_) return out;
  out = leadership_.heartbeats(now, members_);
  switch (phase_) {
    case Phase::electing:
      if (now >= deadline_) win(now, out);
      break;
    case Phase::awaiting_coordinator:
      if (now >= deadline_) start_election(now, out);
      break;
    case Phase::idle:
      if (leadership_.leader_silent(now)) {
        leadership_.lose_leader("missed heartbeats", now);
        start_election(now, out);
      } else if (leadership_.leaderless_too_long(now)) {
        start_election(now, out);
      }
      break;
  }
  return out;
}

std::vector<Outgoing> BullyElector::set_members(std::vector<Candidate> alive,
                                                core::SteadyTime now) {
  members_.assign(std::move(alive));
  std::vector<Outgoing> out;
  const auto& leader = leadership_.leader();
  if (started_ && leader && !leadership_.is_leader() && !members_.contains(leader->id)) {
    leadership_.lose_leader("left the membership", now);
    if (phase_ == Phase::idle) start_election(now, out);
  }
  return out;
}

std::vector<Outgoing> BullyElector::set_priority(std::uint32_t priority, core::SteadyTime now) {
  options_.self.priority = priority;
  leadership_.set_priority(priority);
  members_.set_self_priority(priority);
  std::vector<Outgoing> out;
  const auto& leader = leadership_.leader();
  if (started_ && phase_ == Phase::idle && leader && !leadership_.is_leader() &&
      outranks(self(), *leader)) {
    start_election(now, out);
  }
  return out;
}

void BullyElector::start_election(core::SteadyTime now, std::vector<Outgoing>& out) {
  leadership_.record(EventKind::election_started);
  const auto higher = members_.above_self();
  if (higher.empty()) return win(now, out);
  phase_ = Phase::electing;
  deadline_ = now + options_.answer_timeout;
  for (const auto& node : higher) {
    out.push_back({node.id, leadership_.message(MessageKind::election)});
  }
}

void BullyElector::win(core::SteadyTime now, std::vector<Outgoing>& out) {
  phase_ = Phase::idle;
  leadership_.lead(first_term_after(leadership_.term(), self().id), now);
  for (const auto& peer : members_.others()) {
    out.push_back({peer, leadership_.message(MessageKind::coordinator)});
  }
}

void BullyElector::on_election(const ElectionMessage& message, core::SteadyTime now,
                               std::vector<Outgoing>& out) {
  auto answer = leadership_.message(MessageKind::answer);
  answer.leader = leadership_.leader();
  out.push_back({message.from.id, std::move(answer)});
  if (leadership_.is_leader()) {
    // Still here: say so to the node that missed it, rather than hold a new election.
    out.push_back({message.from.id, leadership_.message(MessageKind::coordinator)});
  } else if (phase_ == Phase::idle) {
    start_election(now, out);
  }
}

void BullyElector::on_answer(const ElectionMessage& message, core::SteadyTime now,
                             std::vector<Outgoing>& out) {
  leadership_.learn_leader(message, now);
  if (phase_ == Phase::electing && outranks(message.from, self())) {
    phase_ = Phase::awaiting_coordinator;
    deadline_ = now + options_.coordinator_timeout;
  }
  const auto& leader = leadership_.leader();
  if (phase_ == Phase::idle && leader && outranks(self(), *leader)) start_election(now, out);
}

void BullyElector::on_leader(const ElectionMessage& message, core::SteadyTime now,
                             std::vector<Outgoing>& out) {
  if (leadership_.is_leader() && outranks(self(), message.from)) {
    // Two leaders of one term would mean two ids of one lane (term.hpp): win a new term.
    return win(now, out);
  }
  leadership_.follow(message.from, message.term, now);
  if (!outranks(self(), message.from)) {
    phase_ = Phase::idle;
  } else if (phase_ == Phase::idle) {
    // A lower leader: bully in. An election already under way runs to its end, or each
    // heartbeat would restart it and it would never be won.
    start_election(now, out);
  }
}

}  // namespace isla::election
