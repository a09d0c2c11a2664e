#pragma once
// What a leader knows of each follower's log (Raft §5.3, etcd's Progress).
#include <deque>

#include "consensus/types.hpp"

namespace isla::consensus {

struct Progress {
  enum class State : std::uint8_t {
    probe,      // one append at a time until we find where the logs match
    replicate,  // matching: stream appends optimistically, up to the inflight window
    snapshot    // waiting for a snapshot to be installed
  };

  Index match = 0;
  Index next = 1;
  State state = State::probe;
  bool probe_sent = false;     // in probe state, an append is outstanding
  Index pending_snapshot = 0;  // in snapshot state, the snapshot's index
  bool recent_active = false;  // heard from since the last check-quorum round
  bool learner = false;
  int snapshot_wait = 0;       // heartbeat responses seen while in snapshot state
  std::deque<Index> inflight;  // last index of each append in flight (replicate state)

  bool paused(std::size_t max_inflight) const {
    switch (state) {
      case State::probe:
        return probe_sent;
      case State::replicate:
        return inflight.size() >= max_inflight;
      case State::snapshot:
        return true;
    }
    return true;
  }
  void become_probe() {
    state = State::probe;
    next = match + 1;
    probe_sent = false;
    inflight.clear();
  }
  void become_replicate() {
    state = State::replicate;
    next = match + 1;
    inflight.clear();
  }
  void become_snapshot(Index index) {
    state = State::snapshot;
    pending_snapshot = index;
    inflight.clear();
  }
  // Returns false if the acknowledgement is stale.
  bool update(Index index) {
    bool updated = false;
    if (index > match) {
      match = index;
      updated = true;
      probe_sent = false;
    }
    next = std::max(next, index + 1);
    while (!inflight.empty() && inflight.front() <= index) inflight.pop_front();
    return updated;
  }
  // A rejection of the append at `rejected`; the follower's last index is `hint`. Returns
  // false if the rejection is stale.
  bool decrease(Index rejected, Index hint) {
    if (state == State::replicate) {
      if (rejected <= match) return false;
      next = match + 1;
      return true;
    }
    if (next == 0 || next - 1 != rejected) return false;
    next = std::max<Index>(1, std::min(rejected, hint + 1));
    probe_sent = false;
    return true;
  }
};

}  // namespace isla::consensus
