#pragma once
// The ring election (Chang-Roberts with the collected list, as in the course notes), for the
// bridge of an island's gateways. The live members form a ring ordered by id. An election
// message travels it once, each node appending itself; back at its initiator, the
// highest-ranked candidate is the coordinator, and a coordinator message travels the ring
// once more. Each hop is acknowledged: a successor that does not acknowledge within
// hop_timeout is sent the message again, then passed over for the one after it, so a crashed
// node in the middle of the ring costs hop_timeout * hop_attempts per pass.
//
// Concurrent elections: elections are ordered by (term, initiator's rank, attempt), and a node
// forwards only elections above every one it has forwarded, so of several initiators only the
// highest one's message comes back. Lost or stuck elections are retried: a node in an election
// that sees no coordinator within election_timeout starts its own. A live node left out of an
// election (its hops were lost) that outranks the winner starts a new one when it hears of it,
// so the ring settles on its highest live member.
//
// Liveness: the leader sends heartbeats to every member, so a node without a membership layer
// still notices its death; set_members() dropping the leader starts an election at once.
// Terms work as in the Bully election (term.hpp): the initiator gives the winner the next
// round in the winner's lane.
#include <optional>

#include "election/leadership.hpp"

namespace isla::election {

struct RingOptions {
  Candidate self;
  LivenessOptions liveness;
  // The highest term this node knew before it (re)started, e.g. kept on disk by the driver:
  // the first term it leads is above it, so a resource that fences by term keeps obeying it
  // after a restart of the whole group.
  Term initial_term = 0;
  std::chrono::milliseconds hop_timeout{100};
  int hop_attempts = 2;  // sends to one successor before passing it over
  // A node in an election that hears no coordinator within this starts an election itself.
  std::chrono::milliseconds election_timeout{1000};
};

class RingElector final : public Elector {
 public:
  explicit RingElector(RingOptions options);

  std::vector<Outgoing> start(core::SteadyTime now) override;
  std::vector<Outgoing> on_message(const ElectionMessage& message, core::SteadyTime now) override;
  std::vector<Outgoing> tick(core::SteadyTime now) override;
  std::vector<Outgoing> set_members(std::vector<Candidate> alive, core::SteadyTime now) override;

  const Candidate& self() const override { return leadership_.self(); }
  std::optional<NodeId> leader() const override { return leadership_.leader_id(); }
  Term term() const override { return leadership_.term(); }
  std::vector<ElectionEvent> take_events() override { return leadership_.take_events(); }

 private:
  // Which of two elections wins the right of way: the newer term, then the higher initiator.
  struct ElectionKey {
    Term term = 0;
    Candidate initiator;
    std::uint64_t attempt = 0;
  };
  // A ring message on its way to the next live successor.
  struct Hop {
    ElectionMessage message;  // message.seq numbers this hop
    NodeId to;
    std::vector<NodeId> after;  // where it goes if `to` never acknowledges
    int sends = 0;
    core::SteadyTime deadline;
  };

  static bool precedes(const ElectionKey& a, const ElectionKey& b);
  void start_election(core::SteadyTime now, std::vector<Outgoing>& out);
  void on_election(ElectionMessage message, core::SteadyTime now, std::vector<Outgoing>& out);
  void on_coordinator(ElectionMessage message, core::SteadyTime now, std::vector<Outgoing>& out);
  void on_leader(const ElectionMessage& message, core::SteadyTime now, std::vector<Outgoing>& out);
  void on_ack(const ElectionMessage& message);
  // The ring came back (or every node after this one failed): announce the highest candidate.
  void conclude(const std::vector<Candidate>& candidates, core::SteadyTime now,
                std::vector<Outgoing>& out);
  // Sends a ring message on along the arc to its initiator; false when nobody is left on it.
  bool pass_on(ElectionMessage message, core::SteadyTime now, std::vector<Outgoing>& out);
  // Aims the hop at `to` under a new number, and sends it.
  void aim(Hop& hop, NodeId to, core::SteadyTime now, std::vector<Outgoing>& out);
  void send_hop(Hop& hop, core::SteadyTime now, std::vector<Outgoing>& out);
  void retry_hops(core::SteadyTime now, std::vector<Outgoing>& out);
  // A node that could not be reached: the message goes to the one after it, or ends.
  void skip(Hop hop, core::SteadyTime now, std::vector<Outgoing>& out);
  bool in_own_election(std::uint64_t attempt) const;
  void ack(const ElectionMessage& message, std::vector<Outgoing>& out) const;
  // An election of an older term than ours can no longer win.
  void forget_stale_election();

  RingOptions options_;
  Leadership leadership_;
  Members members_;
  bool started_ = false;
  std::optional<ElectionKey> joined_;  // the highest election this node has forwarded
  core::SteadyTime election_deadline_{};
  std::uint64_t attempts_ = 0;  // elections this node has started
  std::uint64_t next_seq_ = 0;
  std::vector<Hop> hops_;  // not acknowledged yet
  // The last coordinator passed on: duplicates go no further.
  struct CoordinatorKey {
    Term term = 0;
    NodeId initiator;
    std::uint64_t attempt = 0;
    friend bool operator==(const CoordinatorKey&, const CoordinatorKey&) = default;
  };
  std::optional<CoordinatorKey> last_coordinator_;
};

}  // namespace isla::election
