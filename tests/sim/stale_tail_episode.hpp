#pragma once
// A schedule that random faults practically never line up (issue 9, bug 3): a follower
// holds entries of an old leader that the new leader never had, right after entries that
// the new leader's snapshot covers and that the follower does not know were committed; the
// new leader then sends it that snapshot. The follower's log matches the snapshot, and its
// answer must vouch for no more than the snapshot covers.
//
// A leader sends a snapshot only when its probe for the follower fell below its own first
// entry, and no answer of a follower moves the probe below the point where the follower's
// log agrees with the leader's. So step 4 rewinds the probe (NodeCluster::rewind): a guess
// of the leader's that safety must not depend on.
//
//  1. The leader A proposes `agreed_writes` entries, which reach everyone; a simulated ms
//     later `tail_writes` more, which reach only the victim B. B learns no commit index
//     beyond what was committed before the first of them.
//  2. Once the others applied the first entries (a snapshot interval of them, so that they
//     snapshot there), A dies and B is cut off.
//  3. The others elect L, which commits its own entry and `new_leader_writes` more.
//  4. B comes back and L's probe for B is rewound below L's snapshot.
//
// Clients pause for the episode so that the bursts travel as planned; other faults of the
// run should wait too. The episode gives up (and heals) if a phase outlasts its timeout.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "sim/node_cluster.hpp"

namespace isla::sim {

struct StaleTailPlan {
  int agreed_writes = 5;  // make it the snapshot interval: the others snapshot at its end
  int tail_writes = 2;
  int new_leader_writes = 3;  // at least tail_writes + 1, so that L's log is as long as B's
  std::int64_t phase_timeout_us = 600'000;
  std::int64_t settle_us = 100'000;  // after the rewind, before the episode ends
};

class StaleTailEpisode {
 public:
  explicit StaleTailEpisode(NodeCluster& cluster) : cluster_(cluster) {}

  // Starts with the current leader and the follower `victim` if every node is up and no
  // episode runs; says whether it started.
  bool start(NodeId victim, StaleTailPlan plan);
  // Advances the schedule; call once per simulated ms (NodeCluster::run_until's each_ms).
  void step();
  bool running() const { return phase_ != Phase::idle; }

  // How many episodes reached the state at the rewind: the victim held the new leader's
  // snapshot entry, did not know it was committed, and had entries after it that the new
  // leader does not.
  std::size_t staged() const { return staged_; }
  std::size_t started() const { return started_; }
  // Acknowledged writes of the episodes that an up node does not hold.
  std::vector<std::string> lost_writes() const;

 private:
  enum class Phase { idle, tail, commit, elect, catch_up, settle };

  void enter(Phase phase);
  void stop();
  void write(NodeId node, const std::string& key);
  bool stale_tail_staged() const;

  NodeCluster& cluster_;
  StaleTailPlan plan_;
  Phase phase_ = Phase::idle;
  std::int64_t phase_started_us_ = 0;
  NodeId old_leader_ = 0;
  NodeId victim_ = 0;
  NodeId new_leader_ = 0;
  consensus::Term old_term_ = 0;
  consensus::Index agreed_ = 0;
  std::size_t started_ = 0;
  std::size_t staged_ = 0;
  std::size_t writes_ = 0;
  // Shared with the writes' callbacks, which may run after the episode ended.
  std::shared_ptr<std::vector<std::string>> acknowledged_ =
      std::make_shared<std::vector<std::string>>();
};

}  // namespace isla::sim
