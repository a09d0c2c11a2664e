#pragma once
// A deterministic in-process Raft cluster: simulated network (delay, loss, duplication,
// reordering, partitions, including one-way ones), simulated disks that survive crashes,
// a key-value state machine with exactly-once client requests, clients that record their
// history, and Raft's safety invariants checked as it runs. Everything is driven by one
// seed, so a failing run replays exactly.
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "consensus/raft.hpp"

namespace isla::testing {

using consensus::Entry;
using consensus::Index;
using consensus::Message;
using consensus::NodeId;
using consensus::Term;

struct NetworkFaults {
  double drop = 0.0;       // probability a message is lost
  double duplicate = 0.0;  // probability a message is delivered twice
  int min_delay = 1;       // ticks
  int max_delay = 3;       // > min_delay reorders messages
};

// One client operation as the checker sees it (times in ticks).
struct ClientOp {
  int client = 0;
  std::int64_t call = 0;
  std::int64_t ret = 0;
  std::string kind;  // get | put | del | cas
  std::string key;
  std::string value;                    // put/cas: new value
  std::optional<std::string> expected;  // cas: expected current value (nullopt: absent)
  bool ok = true;                       // cas result
  std::optional<std::string> result;    // get result
  bool unknown = false;                 // timed out: it may or may not have happened
};

class RaftCluster {
 public:
  struct Options {
    int nodes = 3;
    std::uint64_t seed = 1;
    consensus::RaftOptions raft;  // id and seed are filled per node
    NetworkFaults faults;
    int clients = 3;
    int keys = 4;
    int client_timeout_ticks = 60;
  };

  explicit RaftCluster(Options options);

  // One tick: every live node ticks, due messages are delivered, nodes process their
  // Ready, clients act. Invariant violations are recorded in violations().
  void step();
  void run(int ticks, const std::function<void(int tick)>& each_tick = {});

  // Faults.
  void crash(NodeId node);                       // loses everything but what its disk made durable
  void restart(NodeId node);                     // rebuilds from its disk
  void partition(const std::set<NodeId>& side);  // cut both ways between side and the rest
  void cut(NodeId from, NodeId to);              // one-way
  void heal();
  void set_faults(NetworkFaults faults) { options_.faults = faults; }
  // The node's clock runs at `rate_percent` of real time (e.g. 50 = half speed).
  void skew(NodeId node, int rate_percent) { skew_[node] = rate_percent; }

  // Membership: proposes on the current leader; false if there is none or it refused.
  bool change(const consensus::ConfChange& change);
  // Adds a node process (empty disk) that will join as whatever the leader makes it.
  void add_node(NodeId node);

  consensus::Raft* node(NodeId id);
  std::optional<NodeId> leader() const;
  std::vector<NodeId> node_ids() const;
  bool up(NodeId id) const;
  std::int64_t now() const { return tick_; }
  void stop_clients() { clients_enabled_ = false; }
  bool clients_idle() const;

  const std::vector<ClientOp>& history() const { return history_; }
  const std::vector<std::string>& violations() const { return violations_; }
  // Applied state of a node's key-value machine.
  std::map<std::string, std::string> state(NodeId id) const;
  Index applied(NodeId id) const;
  std::size_t elections() const { return leaders_by_term_.size(); }

 private:
  struct Disk {
    consensus::HardState hard_state;
    std::optional<consensus::Snapshot> snapshot;
    std::vector<Entry> entries;
  };
  struct Machine {
    std::map<std::string, std::string> kv;
    std::map<std::string, std::string> results;  // request id -> encoded result
  };
  struct Node {
    std::unique_ptr<consensus::Raft> raft;
    Disk disk;
    Machine machine;
    bool up = true;
    std::vector<consensus::ReadState> waiting_reads;
    int skew_credit = 0;
  };
  struct InFlight {
    std::int64_t at;
    std::uint64_t order;
    Message message;
  };
  struct Client {
    std::optional<std::size_t> op;  // index into history_
    std::string request_id;
    NodeId target = 1;
    std::int64_t deadline = 0;
    std::int64_t next_attempt = 0;
    int sequence = 0;
  };

  consensus::RaftOptions options_for(NodeId id);
  static std::string snapshot_of(const Machine& machine);
  static void restore_machine(Machine& machine, const std::string& data);
  void process(NodeId id);
  void persist(Node& node, const consensus::Ready& ready);
  void apply(NodeId id, Node& node, const Entry& entry);
  void serve_reads(NodeId id, Node& node);
  void deliver_due();
  void send(const Message& message);
  void act_clients();
  void start_op(int index, Client& client);
  void attempt(int index, Client& client);
  void complete(int index, Client& client, const std::string& result);
  void check_invariants();
  void violation(std::string what);

  Options options_;
  std::mt19937_64 random_;
  std::map<NodeId, Node> nodes_;
  std::vector<InFlight> network_;
  std::uint64_t order_ = 0;
  std::set<std::pair<NodeId, NodeId>> cut_;
  std::map<NodeId, int> skew_;
  std::int64_t tick_ = 0;
  std::vector<Client> clients_;
  bool clients_enabled_ = true;
  std::vector<ClientOp> history_;
  std::map<std::string, std::pair<int, std::size_t>> pending_requests_;  // id -> client, op
  std::vector<std::string> violations_;
  std::map<Term, NodeId> leaders_by_term_;
  std::map<Index, Entry> committed_;  // every entry any node applied
};

}  // namespace isla::testing
