#include "election/ring.hpp"

#include <algorithm>
#include <tuple>

namespace isla::election {

RingElector::RingElector(RingOptions options)
    : options_(options),
      leadership_(options.self, options.liveness, options.initial_term),
      members_(options.self) {}

bool RingElector::precedes(const ElectionKey& a, const ElectionKey& b) {
  return std::tie(a.term, a.initiator.priority, a.initiator.id, a.attempt) <
         std::tie(b.term, b.initiator.priority, b.initiator.id, b.attempt);
}

std::vector<Outgoing> RingElector::start(core::SteadyTime now) {
  started_ = true;
  leadership_.start(now);
  std::vector<Outgoing> out;
  if (members_.others().empty()) start_election(now, out);
  return out;
}

std::vector<Outgoing> RingElector::on_message(const ElectionMessage& message,
                                              core::SteadyTime now) {
  std::vector<Outgoing> out;
  if (!started_ || message.from.id == self().id) return out;
  members_.heard_from(message.from);
  // An acknowledgement counts whatever its term: the hop arrived.
  if (message.kind == MessageKind::ring_ack) on_ack(message);
  const bool current = leadership_.observe_term(message.term, now);
  forget_stale_election();
  const bool travels =
      message.kind == MessageKind::ring_election || message.kind == MessageKind::ring_coordinator;
  // Acknowledged even when it goes no further, or the sender would pass this node over; the
  // acknowledgement carries our term, so a sender that is behind catches up.
  if (travels) ack(message, out);
  if (!current) {
    // An old leader learns the newer term and its leader at once.
    const bool leads =
        message.kind == MessageKind::heartbeat || message.kind == MessageKind::coordinator;
    if (leads) out.push_back(leadership_.refute(message));
    return out;
  }
  switch (message.kind) {
    case MessageKind::ring_election:
      on_election(message, now, out);
      break;
    case MessageKind::ring_coordinator:
      on_coordinator(message, now, out);
      break;
    case MessageKind::coordinator:
    case MessageKind::heartbeat:
      on_leader(message, now, out);
      break;
    case MessageKind::answer: {
      leadership_.learn_leader(message, now);
      const auto& leader = leadership_.leader();
      if (!joined_ && leader && outranks(self(), *leader)) start_election(now, out);
      break;
    }
    default:
      break;  // Bully's election, and acknowledgements (handled above)
  }
  return out;
}

std::vector<Outgoing> RingElector::tick(core::SteadyTime now) {
  std::vector<Outgoing> out;
  if (!started_) return out;
  out = leadership_.heartbeats(now, members_);
  retry_hops(now, out);
  if (joined_ && now >= election_deadline_) {
    // The election got lost on the way: hold a new one, unless a live leader is known.
    joined_.reset();
    const bool led = leadership_.leader() && !leadership_.leader_silent(now);
    if (!led) start_election(now, out);
    return out;
  }
  if (leadership_.is_leader() || joined_) return out;
  if (leadership_.leader_silent(now)) {
    leadership_.lose_leader("missed heartbeats", now);
    start_election(now, out);
  } else if (leadership_.leaderless_too_long(now)) {
    start_election(now, out);
  }
  return out;
}

std::vector<Outgoing> RingElector::set_members(std::vector<Candidate> alive, core::SteadyTime now) {
  members_.assign(std::move(alive));
  std::vector<Outgoing> out;
  const auto& leader = leadership_.leader();
  if (started_ && leader && !leadership_.is_leader() && !members_.contains(leader->id)) {
    leadership_.lose_leader("left the membership", now);
    if (!joined_) start_election(now, out);
  }
  return out;
}

void RingElector::start_election(core::SteadyTime now, std::vector<Outgoing>& out) {
  leadership_.record(EventKind::election_started);
  joined_ = ElectionKey{leadership_.term(), self(), ++attempts_};
  election_deadline_ = now + options_.election_timeout;
  auto message = leadership_.message(MessageKind::ring_election);
  message.initiator = self().id;
  message.attempt = attempts_;
  message.candidates = {self()};
  if (!pass_on(message, now, out)) conclude(message.candidates, now, out);
}

void RingElector::on_election(ElectionMessage message, core::SteadyTime now,
                              std::vector<Outgoing>& out) {
  if (message.candidates.empty()) return;
  if (message.initiator == self().id) {
    if (in_own_election(message.attempt)) conclude(message.candidates, now, out);
    return;
  }
  const ElectionKey key{message.term, message.candidates.front(), message.attempt};
  if (joined_ && !precedes(*joined_, key)) return;  // a duplicate, or less right of way
  joined_ = key;
  election_deadline_ = now + options_.election_timeout;
  const bool listed = std::any_of(message.candidates.begin(), message.candidates.end(),
                                  [&](const Candidate& c) { return c.id == self().id; });
  if (!listed) message.candidates.push_back(self());
  message.from = self();
  if (!pass_on(message, now, out)) conclude(message.candidates, now, out);
}

void RingElector::conclude(const std::vector<Candidate>& candidates, core::SteadyTime now,
                           std::vector<Outgoing>& out) {
  Candidate winner = self();
  for (const auto& candidate : candidates) {
    if (outranks(candidate, winner)) winner = candidate;
  }
  const auto attempt = joined_ ? joined_->attempt : 0;
  joined_.reset();
  const Term term = first_term_after(leadership_.term(), winner.id);
  if (winner.id == self().id) {
    leadership_.lead(term, now);
  } else {
    leadership_.follow(winner, term, now);
  }
  auto message = leadership_.message(MessageKind::ring_coordinator);
  message.leader = winner;
  message.initiator = self().id;
  message.attempt = attempt;
  last_coordinator_ = CoordinatorKey{term, self().id, attempt};
  pass_on(std::move(message), now, out);
}

void RingElector::on_coordinator(ElectionMessage message, core::SteadyTime now,
                                 std::vector<Outgoing>& out) {
  if (message.initiator == self().id || !message.leader) return;  // it went all the way round
  const CoordinatorKey key{message.term, message.initiator, message.attempt};
  if (last_coordinator_ == key) return;
  last_coordinator_ = key;
  joined_.reset();
  const Candidate winner = *message.leader;
  if (winner.id == self().id) {
    leadership_.lead(message.term, now);
  } else {
    leadership_.follow(winner, message.term, now);
  }
  message.from = self();
  pass_on(std::move(message), now, out);
  // Left out of that election (its hops were lost) yet higher than the winner: run again.
  if (outranks(self(), winner)) start_election(now, out);
}

void RingElector::on_leader(const ElectionMessage& message, core::SteadyTime now,
                            std::vector<Outgoing>& out) {
  leadership_.follow(message.from, message.term, now);
  if (!joined_ && outranks(self(), message.from)) start_election(now, out);
}

void RingElector::on_ack(const ElectionMessage& message) {
  std::erase_if(hops_, [&](const Hop& hop) {
    return hop.message.seq == message.seq && hop.to == message.from.id;
  });
}

bool RingElector::pass_on(ElectionMessage message, core::SteadyTime now,
                          std::vector<Outgoing>& out) {
  auto arc = members_.arc_to(message.initiator);
  if (arc.empty()) return false;
  Hop hop{std::move(message), {}, {arc.begin() + 1, arc.end()}, 0, now};
  aim(hop, arc.front(), now, out);
  hops_.push_back(std::move(hop));
  return true;
}

void RingElector::aim(Hop& hop, NodeId to, core::SteadyTime now, std::vector<Outgoing>& out) {
  hop.to = std::move(to);
  hop.message.seq = ++next_seq_;
  hop.sends = 0;
  send_hop(hop, now, out);
}

void RingElector::send_hop(Hop& hop, core::SteadyTime now, std::vector<Outgoing>& out) {
  ++hop.sends;
  hop.deadline = now + options_.hop_timeout;
  out.push_back({hop.to, hop.message});
}

void RingElector::retry_hops(core::SteadyTime now, std::vector<Outgoing>& out) {
  std::vector<Hop> unanswered;
  for (auto it = hops_.begin(); it != hops_.end();) {
    if (now < it->deadline) {
      ++it;
    } else if (it->sends < options_.hop_attempts) {
      send_hop(*it, now, out);
      ++it;
    } else {
      unanswered.push_back(std::move(*it));
      it = hops_.erase(it);
    }
  }
  for (auto& hop : unanswered) skip(std::move(hop), now, out);
}

void RingElector::skip(Hop hop, core::SteadyTime now, std::vector<Outgoing>& out) {
  leadership_.record(EventKind::peer_skipped, hop.to);
  if (!hop.after.empty()) {
    auto next = hop.after.front();
    hop.after.erase(hop.after.begin());
    aim(hop, std::move(next), now, out);
    hops_.push_back(std::move(hop));
    return;
  }
  // Nobody answered up to the initiator, which must have died: this node concludes its
  // election in its place, without it.
  auto& message = hop.message;
  const bool still_open = joined_ && joined_->term == message.term &&
                          joined_->initiator.id == message.initiator &&
                          joined_->attempt == message.attempt;
  if (message.kind != MessageKind::ring_election || !still_open) return;
  std::erase_if(message.candidates, [&](const Candidate& c) { return c.id == hop.to; });
  conclude(message.candidates, now, out);
}

bool RingElector::in_own_election(std::uint64_t attempt) const {
  return joined_ && joined_->initiator.id == self().id && joined_->attempt == attempt;
}

void RingElector::ack(const ElectionMessage& message, std::vector<Outgoing>& out) const {
  auto reply = leadership_.message(MessageKind::ring_ack);
  reply.seq = message.seq;
  out.push_back({message.from.id, std::move(reply)});
}

void RingElector::forget_stale_election() {
  if (joined_ && joined_->term < leadership_.term()) joined_.reset();
}

}  // namespace isla::election
