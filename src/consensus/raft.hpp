#pragma once
// Raft as a pure state machine (etcd/raft's shape): no I/O, no clock, no threads. The driver
// calls step() for each message and tick() on a timer, then takes ready(), persists, sends
// and applies what it says, and calls advance().
//
// Implemented: leader election with randomised timeouts, pre-vote and check-quorum (with
// the vote lease that goes with it), log replication with batching, pipelining and flow
// control, the commit rule (only entries of the current term are committed by counting),
// ReadIndex (safe) and lease-based reads, snapshots and log compaction with snapshot
// transfer, single-server membership changes (voters and learners), leadership transfer.
#include <map>
#include <random>
#include <set>
#include <string>

#include "consensus/progress.hpp"
#include "consensus/raft_log.hpp"
#include "consensus/types.hpp"

namespace isla::consensus {

enum class ProposeError { none, not_leader, transferring, conf_change_pending, removed };

class Raft {
 public:
  // `conf` is the initial configuration (ignored unless `persisted` is empty); `addresses`
  // are its members', recorded in the bootstrap entries.
  Raft(RaftOptions options, ConfState conf, PersistentState persisted = {},
       const std::map<NodeId, std::string>& addresses = {});

  void tick();
  void step(const Message& message);

  ProposeError propose(std::string data);
  ProposeError propose_conf_change(const ConfChange& change);
  // Requests a linearizable read; a ReadState with this context appears in a later Ready.
  // Followers ask the leader. Returns false if no leader is known.
  bool read_index(std::string context);
  void transfer_leadership(NodeId target);
  // Starts an election now (tests and operators).
  void campaign();

  // Applies a committed configuration change; the driver calls this when it applies the
  // conf_change entry. Returns the new configuration.
  ConfState apply_conf_change(const ConfChange& change);
  // The application took a snapshot of its state machine at `index` (<= applied).
  void compact(Index index, std::string data);
  // The transport could not deliver to `node` (e.g. connection refused).
  void report_unreachable(NodeId node);
  // With announce_commit_at_once off: whether the leader has committed entries that no
  // append to all followers has carried yet, and the append that carries them.
  bool commit_unannounced() const;
  void announce_commit();

  bool has_ready() const;
  Ready ready();
  void advance(const Ready& ready);

  NodeId id() const { return options_.id; }
  Role role() const { return role_; }
  Term term() const { return term_; }
  NodeId leader() const { return leader_; }
  NodeId vote() const { return vote_; }
  const RaftLog& log() const { return log_; }
  const ConfState& conf() const { return conf_; }
  HardState hard_state() const { return {term_, vote_, log_.committed()}; }
  const std::map<NodeId, Progress>& progress() const { return progress_; }
  NodeId transferee() const { return transferee_; }

 private:
  struct PendingRead {
    Index index;
    NodeId from;
    std::set<NodeId> acks;
  };

  bool promotable() const;
  bool is_voter(NodeId node) const;
  std::size_t quorum() const { return conf_.voters.size() / 2 + 1; }
  void reset(Term term);
  void reset_randomized_timeout();
  void become_follower(Term term, NodeId leader);
  void become_pre_candidate();
  void become_candidate();
  void become_leader();
  void start_election(bool pre_vote, bool transfer);
  void send(Message message);
  bool in_lease() const;

  void step_leader(const Message& message);
  void step_candidate(const Message& message);
  void step_follower(const Message& message);
  void handle_vote_request(const Message& message);
  void handle_append(const Message& message);
  void handle_heartbeat(const Message& message);
  void handle_snapshot(const Message& message);
  void handle_append_response(const Message& message);
  void handle_heartbeat_response(const Message& message);
  void handle_leader_read_index(const Message& message);

  void send_append(NodeId to, bool allow_empty);
  void broadcast_append();
  void commit_advanced();
  void broadcast_heartbeat(const std::string& context);
  bool maybe_commit();
  Index quorum_match() const;
  bool quorum_active();
  void append_own(std::vector<Entry> entries);
  void self_acknowledge();
  bool committed_in_current_term() const;
  void release_reads(const std::string& context);
  void answer_read(NodeId from, Index index, std::string context);
  void rebuild_progress();

  RaftOptions options_;
  ConfState conf_;
  RaftLog log_;
  std::map<NodeId, Progress> progress_;
  std::mt19937_64 random_;

  Role role_ = Role::follower;
  Term term_ = 0;
  NodeId vote_ = 0;
  NodeId leader_ = 0;
  std::map<NodeId, bool> votes_;
  int election_elapsed_ = 0;
  int heartbeat_elapsed_ = 0;
  int randomized_timeout_ = 0;
  Index pending_conf_index_ = 0;
  NodeId transferee_ = 0;
  Index announced_commit_ = 0;  // the commit index the last broadcast append carried

  std::vector<Message> outbox_;
  std::vector<ReadState> reads_;
  std::vector<std::pair<std::string, NodeId>> reads_waiting_for_commit_;
  std::vector<std::string> read_queue_;  // contexts, oldest first
  std::map<std::string, PendingRead> pending_reads_;
  HardState last_hard_state_;
  std::optional<Snapshot> snapshot_;  // the latest snapshot, to send to laggards
  std::optional<Snapshot> snapshot_to_install_;
};

}  // namespace isla::consensus
