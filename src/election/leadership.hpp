#pragma once
// What the ring and the Bully elections share once a leader is chosen: the term and its
// leader, the leader's heartbeats, the followers' patience, the reply that fences a stale
// leader, and the events.
#include <optional>
#include <vector>

#include "election/election.hpp"
#include "election/members.hpp"

namespace isla::election {

class Leadership {
 public:
  Leadership(Candidate self, LivenessOptions liveness, Term initial_term);

  const Candidate& self() const { return self_; }
  // The priority this node announces from now on (its own term and leadership unchanged).
  void set_priority(std::uint32_t priority);
  Term term() const { return term_; }
  const std::optional<Candidate>& leader() const { return leader_; }
  std::optional<NodeId> leader_id() const;
  bool is_leader() const { return leader_ && leader_->id == self_.id; }

  // Leaderless from now: the node elects after a leader timeout unless a leader speaks first.
  void start(core::SteadyTime now) { leaderless_since_ = now; }

  // Every message's term goes through here first. A higher term is adopted (its leader is not
  // known yet, and a node that led an older term steps down); returns false when the message's
  // term is older than ours, i.e. the message is stale.
  bool observe_term(Term term, core::SteadyTime now);

  // This node leads `term` (a term of its own lane, above every term it has seen).
  void lead(Term term, core::SteadyTime now);
  // `leader` leads `term` (not below ours); counts as hearing from it.
  void follow(const Candidate& leader, Term term, core::SteadyTime now);
  void heard_from_leader(core::SteadyTime now) { last_heard_ = now; }
  void lose_leader(const std::string& why, core::SteadyTime now);

  // A follower whose leader's heartbeats stopped.
  bool leader_silent(core::SteadyTime now) const;
  // No leader known for a whole leader timeout.
  bool leaderless_too_long(core::SteadyTime now) const;

  // The leader's heartbeats to every other member, when one is due.
  std::vector<Outgoing> heartbeats(core::SteadyTime now, const Members& members);
  // A message from this node, carrying its term.
  ElectionMessage message(MessageKind kind) const;
  // The reply to a leader (or candidate) of an older term: our term and leader, so that it
  // adopts them and steps down at once.
  Outgoing refute(const ElectionMessage& stale) const;
  // From an answer: the leader of our term, if we knew none.
  void learn_leader(const ElectionMessage& answer, core::SteadyTime now);

  void record(EventKind kind, std::string detail = {});
  std::vector<ElectionEvent> take_events();

 private:
  Candidate self_;
  LivenessOptions liveness_;
  Term term_ = 0;
  std::optional<Candidate> leader_;
  core::SteadyTime last_heard_{};  // follower: the leader's last sign of life
  core::SteadyTime leaderless_since_{};
  core::SteadyTime next_heartbeat_{};  // leader
  std::vector<ElectionEvent> events_;
};

}  // namespace isla::election
