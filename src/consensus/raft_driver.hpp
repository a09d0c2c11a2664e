#pragma once
// What turns the pure Raft core into a replica, without threads or a clock of its own: for
// each Ready it persists (one fsync), sends, applies and answers the proposers and readers
// waiting on it; it snapshots the state machine as the log grows; and it gives up on waiters
// whose deadline passed, so that nothing a client abandons stays in memory. Everything runs
// on one thread, the one DriverExecutor::post() runs work on; RaftNode puts it on a real
// thread, the whole-node simulation on a simulated one.
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "consensus/raft.hpp"
#include "consensus/raft_storage.hpp"
#include "consensus/replica_seams.hpp"

namespace isla::consensus {

struct DriverOptions {
  RaftOptions raft;
  std::filesystem::path dir;  // WAL and snapshot
  ConfState bootstrap;        // the initial voters of a new cluster
  // Members' addresses. A new cluster records the bootstrap members' in its first entries;
  // after that the log and snapshots are the authority, and these only fill gaps (data
  // written before addresses were recorded).
  std::map<NodeId, std::string> addresses;
  std::size_t snapshot_every = 100'000;  // applied entries between snapshots (etcd's default)
  // Applied log bytes that also trigger a snapshot, so that large values cannot make the
  // in-memory log grow without bound between snapshots.
  std::size_t snapshot_log_bytes = 64u << 20;
  // Ticks after which a ReadIndex round still unanswered is asked again: its request or
  // answer may have been lost, and nothing else would ever retry it. 0: half an election
  // timeout (at least 2 ticks).
  int read_retry_ticks = 0;
  // How long a leader waits for a proposal's append to carry a new commit index before it
  // sends one of its own (0: at once, as etcd does). Followers then apply up to this much
  // later; a follower's linearizable read is told the commit with its answer, unaffected.
  std::chrono::microseconds commit_announce_delay{2000};
  durability::WalOptions wal;  // e.g. a hook that times each fsync, for /metrics
};

struct NodeStatus {
  NodeId id = 0;
  Role role = Role::follower;
  Term term = 0;
  NodeId leader = 0;
  std::string leader_address;
  Index commit = 0;
  Index applied = 0;
  Index last_index = 0;
  Index snapshot_index = 0;
  ConfState conf;
  std::map<NodeId, std::string> addresses;
  // Counters since start, for /metrics.
  std::uint64_t proposals = 0;
  std::uint64_t proposals_failed = 0;
  std::uint64_t leader_changes = 0;
  std::uint64_t read_rounds = 0;
  std::uint64_t read_retries = 0;
  std::uint64_t waiters_expired = 0;
  std::uint64_t snapshots_taken = 0;
  std::uint64_t snapshots_installed = 0;
  std::uint64_t last_snapshot_bytes = 0;
  double last_snapshot_seconds = 0;
  std::size_t waiters = 0;  // proposals, reads and applied-index waits held now
};

enum class ProposeStatus {
  ok,
  not_leader,  // nothing was proposed; ask the leader
  unknown,     // leadership changed or the deadline passed: it may still be applied
  rejected,    // Raft refused (a configuration change is pending, a transfer, ...)
};

struct ProposeResult {
  ProposeStatus status = ProposeStatus::ok;
  Index index = 0;
  std::string result;  // the state machine's answer
};

enum class ReadStatus { ok, no_leader, timeout };

class RaftDriver {
 public:
  using Time = DriverExecutor::Time;
  using ProposeDone = std::function<void(ProposeResult)>;
  // Called on the driver's thread; with ok, the state machine may be read there and then.
  using ReadDone = std::function<void(ReadStatus)>;
  using AppliedDone = std::function<void(Index)>;

  // Loads what `options.dir` holds (a fresh directory starts a new member).
  RaftDriver(DriverOptions options, durability::FileSystem& fs, StateMachine& machine,
             Transport& transport, DriverExecutor& executor);
  RaftDriver(const RaftDriver&) = delete;
  RaftDriver& operator=(const RaftDriver&) = delete;

  // Everything below runs on the driver's thread.
  void tick();
  void receive(const std::vector<Message>& messages);
  void propose(std::string command, Time deadline, ProposeDone done);
  // A linearizable read barrier (ReadIndex): `done(ok)` once the state machine has applied
  // everything committed before the call.
  void read(Time deadline, ReadDone done);
  // `done` once the applied index passes `index`, or with the applied index at the deadline.
  void wait_applied_beyond(Index index, Time deadline, AppliedDone done);
  ProposeStatus propose_conf_change(const ConfChange& change);
  void transfer_leadership(NodeId target);
  void report_unreachable(NodeId node);
  // Processes every pending Ready now (normally deferred, so that a burst shares one fsync).
  void flush();
  // Called after every flush, e.g. to publish the status to other threads.
  void on_flushed(std::function<void()> hook) { on_flushed_ = std::move(hook); }
  // Runs `done` once, after the next flush: what Raft answered to the messages received so
  // far has then been made durable and handed to the transport.
  void after_next_flush(std::function<void()> done) { after_flush_.push_back(std::move(done)); }

  NodeStatus status() const;
  const Raft& raft() const { return *raft_; }
  NodeId id() const { return options_.raft.id; }
  const durability::RecoveryReport& recovery() const { return storage_.recovery(); }
  const std::map<NodeId, std::string>& addresses() const { return addresses_; }

 private:
  struct Proposal {
    Term term = 0;
    Time deadline;
    ProposeDone done;
  };
  struct ReadWaiter {
    Time deadline;
    ReadDone done;
  };
  struct ReadRound {
    int age = 0;  // ticks since it was asked
    std::vector<ReadWaiter> waiters;
  };
  struct AppliedWaiter {
    Time deadline;
    AppliedDone done;
  };

  void schedule_flush();
  void schedule_commit_announcement();
  void apply(const std::vector<Entry>& entries);
  void serve_reads(const std::vector<ReadState>& reads);
  void request_read_index();
  void retry_stale_read_rounds();
  void release_applied_reads();
  void fail_waiters_after_role_change();
  void expire_waiters();
  void maybe_snapshot();
  void learn_address(const ConfChange& change);
  void tell_transport_addresses();
  int read_retry_ticks() const;

  DriverOptions options_;
  StateMachine& machine_;
  Transport& transport_;
  DriverExecutor& executor_;
  RaftStorage storage_;
  std::unique_ptr<Raft> raft_;
  std::function<void()> on_flushed_;
  std::vector<std::function<void()>> after_flush_;

  bool snapshot_writing_ = false;
  bool flush_scheduled_ = false;
  bool announce_scheduled_ = false;
  std::size_t applied_bytes_since_snapshot_ = 0;

  std::uint64_t incarnation_ = 0;  // tells this run's proposals from an earlier one's
  std::uint64_t next_proposal_ = 1;
  std::map<std::uint64_t, Proposal> proposals_;
  HardState persisted_;
  Role last_role_ = Role::follower;
  Term last_term_ = 0;
  NodeId last_leader_ = 0;
  std::map<NodeId, std::string> addresses_;

  std::vector<ReadWaiter> reads_waiting_;             // not yet covered by a read_index request
  std::map<std::string, ReadRound> reads_in_flight_;  // by context
  std::vector<std::pair<Index, std::vector<ReadWaiter>>> reads_ready_;  // wait for applied
  std::uint64_t next_read_ = 1;
  std::string read_prefix_;  // node id and a random incarnation: see request_read_index
  std::multimap<Index, AppliedWaiter> applied_waiters_;

  NodeStatus counters_;  // only the counter fields are used
};

}  // namespace isla::consensus
