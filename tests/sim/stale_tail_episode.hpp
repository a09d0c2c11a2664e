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
//  0. The clients pause and every node comes up; the leader A writes one entry at a time
//     until its log is committed and on every follower, and it streams to each of them.
//  1. A proposes `agreed_writes` entries, which reach everyone; a simulated ms
//     later `tail_writes` more, which reach only the victim B. B learns no commit index
//     beyond what was committed before the first of them.
//  2. Once the others applied the first entries and snapshotted there (they are a snapshot
//     interval long), A dies and B is cut off.
//  3. The others elect L, which commits its own entry and `new_leader_writes` more.
//  4. B comes back and L's probe for B is rewound below L's snapshot.
//
// For the episode the clients pause, armed disk faults are cancelled, and the network heals
// and loses only what the episode drops (delays, reordering and duplicates go on), so that
// the bursts travel as planned; the run's other faults should wait too. The episode gives
// up (and heals) if a phase outlasts its timeout.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "sim/node_cluster.hpp"

namespace isla::sim {

struct StaleTailPlan {
  int agreed_writes = 5;  // make it the snapshot interval: the others snapshot at its end
  int tail_writes = 2;
  // At least tail_writes - 1 (with L's own entry, L's log is then as long as B's), and fewer
  // than agreed_writes - 1 (L snapshots again after a snapshot interval).
  int new_leader_writes = 2;
  std::int64_t phase_timeout_us = 600'000;
  std::int64_t settle_us = 100'000;  // after the rewind, before the episode ends
};

class StaleTailEpisode {
 public:
  explicit StaleTailEpisode(NodeCluster& cluster) : cluster_(cluster) {}

  // Starts an episode unless one runs: every node comes up, and once the cluster is quiet
  // its leader is A and a follower B, both picked then.
  void start(StaleTailPlan plan);
  // Advances the schedule; call once per simulated ms (NodeCluster::run_until's each_ms).
  void step();
  bool running() const { return phase_ != Phase::idle; }
  // Ends the episode now: lifts its filter, heals the network, gives back the run's losses,
  // lets the clients go on.
  void stop();

  // How many episodes reached the state at the rewind: the victim held the new leader's
  // snapshot entry, did not know it was committed, and had entries after it that the new
  // leader does not.
  std::size_t staged() const { return staged_; }
  std::size_t started() const { return started_; }  // episodes, staged or not
  // Acknowledged writes of the episodes that an up node does not hold.
  std::vector<std::string> lost_writes() const;

 private:
  enum class Phase { idle, quiesce, tail, commit, elect, catch_up, settle };

  void enter(Phase phase);
  bool quiet(NodeId leader) const;
  void send_agreed();
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
  LinkFaults faults_;  // the run's, restored when the episode ends
  std::size_t started_ = 0;
  std::size_t staged_ = 0;
  std::size_t writes_ = 0;
  // Shared with the writes' callbacks, which may run after the episode ended.
  std::shared_ptr<std::vector<std::string>> acknowledged_ =
      std::make_shared<std::vector<std::string>>();
};

}  // namespace isla::sim
