#pragma once
// Garcia-Molina's Bully election, for the balancer pair: a node that misses the leader asks
// every higher-ranked node; any answer stops it, and a node no higher node answers declares
// itself coordinator to all. A higher node coming back bullies its way in the same way.
//
// Fencing: every message carries the sender's term. A node adopts any higher term it hears,
// a leader of an older term steps down on hearing a newer one, and a coordinator or heartbeat
// of an older term is refuted with an answer carrying the newer term and leader: an old leader
// healed from a partition steps down at its first exchange. Terms are ballots (term.hpp), so
// two leaders never share one.
#include "election/leadership.hpp"

namespace isla::election {

struct BullyOptions {
  Candidate self;  // priority: the balancer's --priority
  LivenessOptions liveness;
  // The highest term this node knew before it (re)started, e.g. kept on disk by the driver:
  // the first term it leads is above it, so a resource that fences by term keeps obeying it
  // after a restart of the whole group.
  Term initial_term = 0;
  // An election no higher node answers within this is won.
  std::chrono::milliseconds answer_timeout{200};
  // After a higher node answered: how long to wait for its coordinator before electing again.
  std::chrono::milliseconds coordinator_timeout{500};
};

class BullyElector final : public Elector {
 public:
  explicit BullyElector(BullyOptions options);

  std::vector<Outgoing> start(core::SteadyTime now) override;
  std::vector<Outgoing> on_message(const ElectionMessage& message, core::SteadyTime now) override;
  std::vector<Outgoing> tick(core::SteadyTime now) override;
  std::vector<Outgoing> set_members(std::vector<Candidate> alive, core::SteadyTime now) override;
  // Changes the priority this node announces. Lowered while it leads, it keeps leading until
  // a member it no longer outranks hears it and bullies in (its next heartbeat tells them);
  // raised above the leader's, it bullies in itself.
  std::vector<Outgoing> set_priority(std::uint32_t priority, core::SteadyTime now);

  const Candidate& self() const override { return leadership_.self(); }
  std::optional<NodeId> leader() const override { return leadership_.leader_id(); }
  Term term() const override { return leadership_.term(); }
  std::vector<ElectionEvent> take_events() override { return leadership_.take_events(); }

 private:
  enum class Phase { idle, electing, awaiting_coordinator };

  void start_election(core::SteadyTime now, std::vector<Outgoing>& out);
  void win(core::SteadyTime now, std::vector<Outgoing>& out);
  void on_election(const ElectionMessage& message, core::SteadyTime now,
                   std::vector<Outgoing>& out);
  void on_answer(const ElectionMessage& message, core::SteadyTime now, std::vector<Outgoing>& out);
  void on_leader(const ElectionMessage& message, core::SteadyTime now, std::vector<Outgoing>& out);

  BullyOptions options_;
  Leadership leadership_;
  Members members_;
  Phase phase_ = Phase::idle;
  core::SteadyTime deadline_{};  // electing: of the answers; awaiting: of the coordinator
  bool started_ = false;
};

}  // namespace isla::election
