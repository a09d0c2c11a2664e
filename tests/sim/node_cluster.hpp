#pragma once
// Whole-node deterministic simulation: N replicas built from the production RaftDriver,
// RaftStorage, WAL and KV state machine, in one thread under one seed. Only the seams are
// simulated: the clock and the driver's threads (an event queue), the network (drops,
// duplicates, delays, reorders, partitions; a failed call loses its whole batch and reports
// the peer unreachable, as the HTTP transport does) and the disks (FaultInjectingFileSystem:
// unsynced writes lost on a crash, torn last writes, failed fsyncs). Nodes crash and restart
// at any event, including in the middle of a snapshot write. Invariants are checked as the
// run goes; the client history is checked for linearizability at the end.
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <queue>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "consensus/raft_driver.hpp"
#include "durability/fault_injecting_file_system.hpp"
#include "sim/linearizability.hpp"
#include "store/kv_replica.hpp"

namespace isla::sim {

using consensus::NodeId;

struct LinkFaults {
  double drop = 0.0;       // a call fails: its batch is lost and the sender told
  double duplicate = 0.0;  // a batch is delivered twice
  double forge = 0.0;      // a stranger's message with an impossible term is injected
  int min_delay_us = 200;
  int max_delay_us = 3'000;  // larger than min: batches overtake each other
};

struct SimOptions {
  std::uint64_t seed = 1;
  int nodes = 3;
  int clients = 3;
  int keys = 3;
  int tick_us = 10'000;
  int election_ticks = 10;
  std::size_t snapshot_every = 20;  // small, so that snapshots are taken and installed often
  LinkFaults faults;
  std::int64_t client_timeout_us = 600'000;
};

// One operation as the linearizability checker sees it, plus the read's consistency.
struct SimOp {
  Operation op;
  bool linearizable_read = true;
  bool issued_while_quiet = false;  // after the faults stopped and the cluster settled
  bool timed_out = false;
};

class NodeCluster {
 public:
  explicit NodeCluster(SimOptions options);
  ~NodeCluster();

  // Runs events until simulated time `until_us`, calling `each_ms` once per simulated ms.
  void run_until(std::int64_t until_us, const std::function<void()>& each_ms = {});
  std::int64_t now_us() const { return now_us_; }

  // Faults.
  void crash(NodeId node);
  void restart(NodeId node);
  void partition(const std::set<NodeId>& side);
  void cut(NodeId from, NodeId to);
  void heal();
  void set_faults(LinkFaults faults) { options_.faults = faults; }
  const LinkFaults& faults() const { return options_.faults; }
  // The next fsync of `node` fails: like production, the node aborts (and later restarts).
  void fail_next_sync(NodeId node);
  // The node dies after `operations` more disk operations, part-way through whatever it
  // was writing (a Ready, a snapshot file).
  void crash_during_io(NodeId node, std::size_t operations);
  // The node's disk fills up after `free_bytes` more bytes: writes fail with ENOSPC and the
  // node dies (as production aborts) until disarm_disks() frees it.
  void fill_disk(NodeId node, std::uint64_t free_bytes);
  // Cancels disk faults armed but not yet fired, and frees full disks.
  void disarm_disks();

  // A leader's next index for a follower is only a guess (Raft §5.3) and safety must not
  // depend on it, so the network may make it guess low: `leader` hears that `follower`
  // rejected its last probe with a log ending at `hint`, and probes from there or, having
  // compacted past it, sends its snapshot. Nothing else can move a leader's probe below
  // where the follower's log agrees with its own.
  void rewind(NodeId leader, NodeId follower, consensus::Index hint);
  // Messages for which `drop` answers true are lost (with their whole batch, as a failed
  // call loses it); for tests that need one particular message to vanish.
  void drop_when(std::function<bool(const consensus::Message&)> drop) { drop_ = std::move(drop); }
  // Runs `work` on the node's thread now (if it is up), with its driver.
  void on_node(NodeId node, const std::function<void(consensus::RaftDriver&)>& work);

  // The probability that a node dies within its next few disk operations after it restored
  // a snapshot from the leader.
  void crash_after_installs(double probability) { crash_after_install_ = probability; }

  void set_quiet(bool quiet) { quiet_ = quiet; }
  void stop_clients() { clients_enabled_ = false; }
  void resume_clients() { clients_enabled_ = true; }
  // A write of the harness's own through `node`, outside the clients' history: key = value,
  // so that a later content check can look for it. `done` hears whether it was applied.
  void put(NodeId node, const std::string& key, std::function<void(bool)> done = {});

  bool up(NodeId node) const;
  std::optional<NodeId> leader() const;
  std::vector<NodeId> node_ids() const;
  const consensus::RaftDriver* driver(NodeId node) const;
  // The node's applied key-value content.
  std::map<std::string, std::string> content(NodeId node) const;

  const std::vector<SimOp>& history() const { return history_; }
  const std::vector<std::string>& violations() const { return violations_; }
  std::size_t elections() const { return leaders_by_term_.size(); }
  std::size_t snapshots_installed() const { return snapshots_installed_; }
  std::size_t restarts() const { return restarts_; }
  std::size_t forged() const { return forged_; }

  std::mt19937_64& random() { return random_; }

 private:
  struct Node;
  class Executor;
  class Network;
  struct Event {
    std::int64_t at;
    std::uint64_t order;
    NodeId node;  // 0: not tied to a node
    std::uint64_t incarnation;
    std::function<void()> work;
    bool operator>(const Event& other) const {
      return at != other.at ? at > other.at : order > other.order;
    }
  };
  struct Client;
  struct Watcher;

  void schedule(std::int64_t delay_us, NodeId node, std::function<void()> work);
  void run_on(NodeId node, const std::function<void()>& work);
  void start_node(NodeId node);
  void schedule_tick(NodeId node);
  void deliver(NodeId from, NodeId to, std::vector<consensus::Message> batch);
  void send(NodeId from, std::vector<consensus::Message> messages);
  bool link_up(NodeId from, NodeId to) const;
  void forge_message();

  void act_clients();
  void start_op(int index);
  void attempt(int index);
  void finish(int index, std::optional<KvOutput> output);
  void poll_watcher(Watcher& watcher);

  void check_invariants();
  void check_node_after_event(NodeId node);
  void check_loaded(NodeId node);
  void violation(std::string what);

  SimOptions options_;
  std::mt19937_64 random_;
  std::int64_t now_us_ = 0;
  std::uint64_t order_ = 0;
  std::priority_queue<Event, std::vector<Event>, std::greater<>> events_;
  std::map<NodeId, std::unique_ptr<Node>> nodes_;
  std::set<std::pair<NodeId, NodeId>> cut_;
  bool quiet_ = false;
  double crash_after_install_ = 0;
  std::function<bool(const consensus::Message&)> drop_;
  bool clients_enabled_ = true;

  std::vector<Client> clients_;
  std::vector<std::unique_ptr<Watcher>> watchers_;
  std::vector<SimOp> history_;
  std::vector<std::string> violations_;
  std::map<consensus::Term, NodeId> leaders_by_term_;
  std::map<consensus::Index, std::string> applied_;  // every command any node applied
  std::size_t snapshots_installed_ = 0;
  std::size_t restarts_ = 0;
  std::size_t forged_ = 0;
  std::int64_t next_client_ms_ = 0;
};

}  // namespace isla::sim
