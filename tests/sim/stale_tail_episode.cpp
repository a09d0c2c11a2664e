#include "sim/stale_tail_episode.hpp"

#include <algorithm>

namespace isla::sim {

using consensus::Index;
using consensus::Message;
using consensus::Role;

void StaleTailEpisode::start(StaleTailPlan plan) {
  if (running()) return;
  plan_ = plan;
  ++started_;
  cluster_.stop_clients();
  // Every node up, and a network that loses what the episode chooses and nothing else: a
  // lost acknowledgement of the agreed entries could only be repaired by resending them
  // with the tail.
  cluster_.heal();
  cluster_.disarm_disks();
  for (NodeId id : cluster_.node_ids()) cluster_.restart(id);
  faults_ = cluster_.faults();
  LinkFaults lossless = faults_;
  lossless.drop = 0;
  cluster_.set_faults(lossless);
  enter(Phase::quiesce);
}

// Every follower holds the leader's whole log, which is committed, and is streamed to (a
// probed follower would get one entry of the burst and the rest only with the tail).
bool StaleTailEpisode::quiet(NodeId leader) const {
  const auto& raft = cluster_.driver(leader)->raft();
  if (raft.log().committed() < raft.log().last_index()) return false;
  return std::all_of(raft.progress().begin(), raft.progress().end(), [&](const auto& entry) {
    const consensus::Progress& progress = entry.second;
    return entry.first == leader ||
           (progress.state == consensus::Progress::State::replicate && progress.inflight.empty() &&
            progress.match == raft.log().last_index());
  });
}

void StaleTailEpisode::send_agreed() {
  const Index before = cluster_.driver(old_leader_)->raft().log().last_index();
  for (int i = 0; i < plan_.agreed_writes; ++i) write(old_leader_, "agreed");
  const auto* driver = cluster_.driver(old_leader_);  // a disk fault may have killed it
  if (driver == nullptr || driver->raft().log().last_index() != before + plan_.agreed_writes) {
    return stop();
  }
  agreed_ = before + plan_.agreed_writes;
  // The agreed entries travel in one batch per peer, this ms; the tail in the next. Batches
  // holding the tail are lost to all but the victim, and the victim hears no commit index
  // beyond `before`: the commit of the agreed entries reaches only the others.
  cluster_.drop_when([a = old_leader_, b = victim_, before, agreed = agreed_](const Message& m) {
    if (m.from != a) return false;
    if (m.to == b) return m.commit > before;
    return std::any_of(m.entries.begin(), m.entries.end(),
                       [agreed](const consensus::Entry& entry) { return entry.index > agreed; });
  });
  enter(Phase::tail);
}

void StaleTailEpisode::step() {
  if (phase_ == Phase::idle) return;
  const std::int64_t age = cluster_.now_us() - phase_started_us_;
  if (age > (phase_ == Phase::settle ? plan_.settle_us : plan_.phase_timeout_us)) {
    stop();
    return;
  }
  switch (phase_) {
    case Phase::idle:
    case Phase::settle:
      return;
    case Phase::quiesce: {
      const auto leader = cluster_.leader();
      if (!leader) return;
      const auto& log = cluster_.driver(*leader)->raft().log();
      if (log.committed() < log.last_index()) return;  // wait for what is in flight
      if (!quiet(*leader)) {
        // A follower left probing (after a lost batch) is streamed to again once it
        // acknowledges an entry.
        write(*leader, "warm-up");
        return;
      }
      old_leader_ = *leader;
      old_term_ = cluster_.driver(old_leader_)->raft().term();
      const auto nodes = cluster_.node_ids();
      do {
        victim_ = nodes[std::uniform_int_distribution<std::size_t>(
            0, nodes.size() - 1)(cluster_.random())];
      } while (victim_ == old_leader_);
      send_agreed();
      return;
    }
    case Phase::tail:
      if (!cluster_.up(old_leader_)) return stop();
      for (int i = 0; i < plan_.tail_writes; ++i) write(old_leader_, "tail");
      enter(Phase::commit);
      return;
    case Phase::commit:
      // The others snapshotted at the agreed entries (a snapshot still being written puts the
      // next one off until it is done).
      for (NodeId id : cluster_.node_ids()) {
        if (id == old_leader_ || id == victim_) continue;
        const auto* driver = cluster_.driver(id);
        if (driver == nullptr || driver->raft().log().snapshot_index() < agreed_) return;
      }
      cluster_.crash(old_leader_);
      cluster_.partition({victim_});
      cluster_.drop_when({});
      enter(Phase::elect);
      return;
    case Phase::elect: {
      const auto leader = cluster_.leader();
      if (!leader) return;
      const auto& raft = cluster_.driver(*leader)->raft();
      const auto& log = raft.log();
      if (raft.term() <= old_term_ || log.term(log.committed()) != raft.term()) return;
      new_leader_ = *leader;
      for (int i = 0; i < plan_.new_leader_writes; ++i) write(new_leader_, "new");
      enter(Phase::catch_up);
      return;
    }
    case Phase::catch_up: {
      const auto* driver = cluster_.driver(new_leader_);
      if (driver == nullptr || driver->raft().role() != Role::leader) return stop();
      const auto& log = driver->raft().log();
      if (log.applied() < log.last_index()) return;
      if (stale_tail_staged()) ++staged_;
      cluster_.heal();
      const Index snapshot = log.snapshot_index();
      const Index hint =
          snapshot == 0 ? 0
                        : std::uniform_int_distribution<Index>(0, snapshot - 1)(cluster_.random());
      cluster_.rewind(new_leader_, victim_, hint);
      enter(Phase::settle);
      return;
    }
  }
}

void StaleTailEpisode::enter(Phase phase) {
  phase_ = phase;
  phase_started_us_ = cluster_.now_us();
}

void StaleTailEpisode::stop() {
  if (phase_ == Phase::idle) return;
  cluster_.set_faults(faults_);
  cluster_.drop_when({});
  cluster_.heal();
  cluster_.resume_clients();
  phase_ = Phase::idle;
}

void StaleTailEpisode::write(NodeId node, const std::string& what) {
  const std::string key =
      "episode-" + std::to_string(started_) + "-" + what + "-" + std::to_string(++writes_);
  cluster_.put(node, key, [acknowledged = acknowledged_, key](bool ok) {
    if (ok) acknowledged->push_back(key);
  });
}

bool StaleTailEpisode::stale_tail_staged() const {
  const auto* follower = cluster_.driver(victim_);
  if (follower == nullptr) return false;
  const auto& ours = cluster_.driver(new_leader_)->raft().log();
  const auto& theirs = follower->raft().log();
  const Index snapshot = ours.snapshot_index();
  return snapshot > theirs.committed() && theirs.matches(snapshot, ours.snapshot_term()) &&
         theirs.last_index() > snapshot && theirs.term(snapshot + 1) != ours.term(snapshot + 1);
}

std::vector<std::string> StaleTailEpisode::lost_writes() const {
  std::vector<std::string> lost;
  for (NodeId id : cluster_.node_ids()) {
    if (!cluster_.up(id)) continue;
    const auto content = cluster_.content(id);
    for (const auto& key : *acknowledged_) {
      if (content.count(key) == 0) {
        lost.push_back("node " + std::to_string(id) + " lost the acknowledged write " + key);
      }
    }
  }
  return lost;
}

}  // namespace isla::sim
