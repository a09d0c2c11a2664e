#include "sim/node_cluster.hpp"

#include <algorithm>
#include <limits>
#include <system_error>

#include "store/command_codec.hpp"

namespace isla::sim {

using consensus::Index;
using consensus::Message;
using consensus::ReadStatus;
using consensus::Role;
using consensus::Term;

namespace {

std::string address_of(NodeId node) {
  return "sim-node-" + std::to_string(node) + ":5235";
}

std::optional<NodeId> node_at(const std::string& address) {
  constexpr std::string_view prefix = "sim-node-";
  if (!address.starts_with(prefix)) return std::nullopt;
  return std::stoull(address.substr(prefix.size()));
}

// The KV replica of production, with every applied command reported so that the cluster can
// check that all replicas apply the same command at the same index.
class RecordingReplica final : public consensus::StateMachine {
 public:
  using OnApply = std::function<void(Index, std::string_view)>;
  explicit RecordingReplica(OnApply on_apply) : on_apply_(std::move(on_apply)) {}
  std::string apply(Index index, std::string_view command) override {
    on_apply_(index, command);
    return replica.apply(index, command);
  }
  std::string snapshot() const override { return replica.snapshot(); }
  void restore(const std::string& data) override {
    ++restores;
    replica.restore(data);
  }

  store::KvReplica replica;
  std::size_t restores = 0;

 private:
  OnApply on_apply_;
};

store::Txn single(store::RequestOp op) {
  store::Txn txn;
  txn.success.push_back(std::move(op));
  return txn;
}

}  // namespace

class NodeCluster::Executor final : public consensus::DriverExecutor {
 public:
  Executor(NodeCluster& cluster, NodeId node) : cluster_(cluster), node_(node) {}
  void post(std::function<void()> work) override {
    run_later(std::uniform_int_distribution<int>(1, 30)(cluster_.random_), std::move(work));
  }
  // A snapshot file takes a while to write: long enough for crashes to land in the middle.
  void post_disk(std::function<void()> work) override {
    run_later(std::uniform_int_distribution<int>(100, 20'000)(cluster_.random_), std::move(work));
  }
  void post_after(std::chrono::microseconds delay, std::function<void()> work) override {
    run_later(delay.count(), std::move(work));
  }
  Time now() const override { return Time{} + std::chrono::microseconds(cluster_.now_us_); }

 private:
  void run_later(std::int64_t delay_us, std::function<void()> work) {
    cluster_.schedule(delay_us, node_,
                      [this, work = std::move(work)] { cluster_.run_on(node_, work); });
  }

  NodeCluster& cluster_;
  NodeId node_;
};

// One node's view of the network: it can only reach the addresses it was told.
class NodeCluster::Network final : public consensus::Transport {
 public:
  Network(NodeCluster& cluster, NodeId node) : cluster_(cluster), node_(node) {}
  void send(std::vector<Message> messages) override { cluster_.send(node_, std::move(messages)); }
  void set_address(NodeId node, const std::string& address) override { addresses_[node] = address; }
  std::optional<NodeId> resolve(NodeId node) const {
    auto found = addresses_.find(node);
    if (found == addresses_.end()) return std::nullopt;
    return node_at(found->second);
  }

 private:
  NodeCluster& cluster_;
  NodeId node_;
  std::map<NodeId, std::string> addresses_;
};

struct NodeCluster::Node {
  NodeId id = 0;
  std::unique_ptr<durability::FaultInjectingFileSystem> disk;
  std::uint64_t incarnation = 0;
  bool up = false;
  int clock_rate = 100;  // percent of real time its ticks run at
  std::unique_ptr<RecordingReplica> machine;
  std::unique_ptr<Executor> executor;
  std::unique_ptr<Network> network;
  std::unique_ptr<consensus::RaftDriver> driver;
  Term durable_term = 0;  // what the disk has promised, checked after a restart
  NodeId durable_vote = 0;
  Term highest_term = 0;
  Role last_role = Role::follower;
};

struct NodeCluster::Client {
  std::optional<std::size_t> op;  // index into history_
  NodeId target = 1;
  std::int64_t deadline_us = 0;
  std::int64_t next_attempt_us = 0;
  std::int64_t idle_until_us = 0;
  std::uint64_t attempt = 0;  // answers to older attempts are ignored
  int sequence = 0;
};

struct NodeCluster::Watcher {
  NodeId node = 0;
  std::uint64_t incarnation = 0;
  store::Revision next = 1;
  store::Revision last_seen = 0;
};

NodeCluster::NodeCluster(SimOptions options) : options_(options), random_(options.seed) {
  for (int i = 1; i <= options_.nodes; ++i) {
    auto node = std::make_unique<Node>();
    node->id = static_cast<NodeId>(i);
    node->disk = std::make_unique<durability::FaultInjectingFileSystem>(options_.seed * 31 + i);
    node->clock_rate = std::uniform_int_distribution<int>(90, 110)(random_);
    nodes_[node->id] = std::move(node);
  }
  for (const auto& [id, node] : nodes_) start_node(id);
  clients_.resize(static_cast<std::size_t>(options_.clients));
  for (auto& client : clients_) {
    client.target = std::uniform_int_distribution<NodeId>(1, nodes_.size())(random_);
  }
}

NodeCluster::~NodeCluster() = default;

void NodeCluster::schedule(std::int64_t delay_us, NodeId node, std::function<void()> work) {
  const std::uint64_t incarnation = node == 0 ? 0 : nodes_.at(node)->incarnation;
  events_.push(Event{now_us_ + delay_us, order_++, node, incarnation, std::move(work)});
}

// Runs work as the node's thread would; an exception is the process dying, as production's
// run_or_abort makes it. A simulated power cut or a failed fsync is expected; anything
// else is a bug the run reports.
void NodeCluster::run_on(NodeId id, const std::function<void()>& work) {
  Node& node = *nodes_.at(id);
  try {
    work();
  } catch (const durability::SimulatedCrash&) {
    crash(id);
    return;
  } catch (const std::system_error&) {
    crash(id);
    return;
  } catch (const std::exception& error) {
    violation("node " + std::to_string(id) + " died: " + error.what());
    crash(id);
    return;
  }
  if (node.up) check_node_after_event(id);
}

void NodeCluster::start_node(NodeId id) {
  Node& node = *nodes_.at(id);
  ++node.incarnation;
  node.machine = std::make_unique<RecordingReplica>([this](Index index, std::string_view command) {
    auto [it, inserted] = applied_.try_emplace(index, command);
    if (!inserted && it->second != command) {
      violation("two commands applied at index " + std::to_string(index));
    }
  });
  node.executor = std::make_unique<Executor>(*this, id);
  node.network = std::make_unique<Network>(*this, id);
  consensus::DriverOptions options;
  options.raft.id = id;
  options.raft.election_ticks = options_.election_ticks;
  options.raft.heartbeat_ticks = 1;
  options.raft.random_seed = random_();
  options.dir = "/data";
  options.snapshot_every = options_.snapshot_every;
  for (const auto& [other, _] : nodes_) {
    if (other <= static_cast<NodeId>(options_.nodes)) options.bootstrap.voters.push_back(other);
  }
  // Only a new member learns its peers from its options; a restarted one must find their
  // addresses in its own data, as a gateway restarted with different flags must.
  const bool fresh = node.incarnation == 1;
  for (const auto& [other, _] : nodes_) {
    if (fresh || other == id) options.addresses[other] = address_of(other);
  }
  try {
    node.driver = std::make_unique<consensus::RaftDriver>(options, *node.disk, *node.machine,
                                                          *node.network, *node.executor);
  } catch (const std::system_error&) {
    return;  // its disk is full or failing: it stays down, as a process that aborts would
  } catch (const std::exception& error) {
    violation("node " + std::to_string(id) + " cannot restart: " + error.what());
    return;
  }
  node.up = true;
  node.last_role = Role::follower;
  if (!fresh) check_loaded(id);
  node.highest_term = node.driver->raft().term();  // a term never persisted may be forgotten
  watchers_.push_back(std::make_unique<Watcher>(
      Watcher{id, node.incarnation, node.machine->replica.kv.revision() + 1, 0}));
  schedule_tick(id);
}

void NodeCluster::schedule_tick(NodeId id) {
  Node& node = *nodes_.at(id);
  const std::int64_t delay = std::int64_t{options_.tick_us} * 100 / node.clock_rate;
  schedule(delay, id, [this, id] {
    run_on(id, [&] { nodes_.at(id)->driver->tick(); });
    if (nodes_.at(id)->up) schedule_tick(id);
  });
}

void NodeCluster::on_node(NodeId id, const std::function<void(consensus::RaftDriver&)>& work) {
  if (!up(id)) return;
  run_on(id, [&] { work(*nodes_.at(id)->driver); });
}

void NodeCluster::crash(NodeId id) {
  Node& node = *nodes_.at(id);
  if (!node.up) return;
  node.up = false;
  ++node.incarnation;  // its queued events and disk work die with it
  const int mode = std::uniform_int_distribution<int>(0, 2)(random_);
  node.disk->crash(static_cast<durability::CrashMode>(mode));
  node.driver.reset();
  node.machine.reset();
}

void NodeCluster::restart(NodeId id) {
  if (nodes_.at(id)->up) return;
  ++restarts_;
  start_node(id);
}

void NodeCluster::fail_next_sync(NodeId id) {
  if (up(id)) nodes_.at(id)->disk->fail_next_sync();
}

void NodeCluster::disarm_disks() {
  for (auto& [id, node] : nodes_) {
    node->disk->disarm();
    node->disk->set_free_bytes(std::nullopt);
  }
}

void NodeCluster::fill_disk(NodeId id, std::uint64_t free_bytes) {
  nodes_.at(id)->disk->set_free_bytes(free_bytes);
}

void NodeCluster::crash_during_io(NodeId id, std::size_t operations) {
  if (up(id)) nodes_.at(id)->disk->crash_after_operations(operations);
}

void NodeCluster::rewind(NodeId leader, NodeId follower, Index hint) {
  if (!up(leader) || nodes_.at(leader)->driver->raft().role() != Role::leader) return;
  const auto& raft = nodes_.at(leader)->driver->raft();
  const auto progress = raft.progress().find(follower);
  if (progress == raft.progress().end() || follower == leader) return;
  Message rejection;
  rejection.type = consensus::MessageType::append_response;
  rejection.from = follower;
  rejection.to = leader;
  rejection.term = raft.term();
  rejection.reject = true;
  // It answers the last probe; the leader takes an answer to any other index as stale.
  rejection.index = progress->second.next - 1;
  rejection.reject_hint = std::min(hint, rejection.index);
  run_on(leader, [&] { nodes_.at(leader)->driver->receive({rejection}); });
}

void NodeCluster::partition(const std::set<NodeId>& side) {
  for (const auto& [a, _] : nodes_) {
    for (const auto& [b, __] : nodes_) {
      if (side.count(a) != side.count(b)) cut_.insert({a, b});
    }
  }
}

void NodeCluster::cut(NodeId from, NodeId to) {
  cut_.insert({from, to});
}

void NodeCluster::heal() {
  cut_.clear();
}

bool NodeCluster::link_up(NodeId from, NodeId to) const {
  return cut_.count({from, to}) == 0 && cut_.count({to, from}) == 0;
}

bool NodeCluster::up(NodeId node) const {
  auto found = nodes_.find(node);
  return found != nodes_.end() && found->second->up;
}

// As the HTTP transport: one call per destination carries the batch; a call that fails
// (refused, reset, timed out) loses the whole batch and the sender reports the peer
// unreachable. An address the sender does not know fails the same way.
void NodeCluster::send(NodeId from, std::vector<Message> messages) {
  std::map<NodeId, std::vector<Message>> by_peer;
  for (auto& message : messages) by_peer[message.to].push_back(std::move(message));
  std::uniform_int_distribution<int> delay(
      options_.faults.min_delay_us,
      std::max(options_.faults.min_delay_us, options_.faults.max_delay_us));
  std::uniform_real_distribution<double> roll(0, 1);
  for (auto& [peer, batch] : by_peer) {
    const auto destination = nodes_.at(from)->network->resolve(peer);
    const bool reachable = destination && *destination == peer && up(peer) && link_up(from, peer);
    const bool filtered = drop_ && std::any_of(batch.begin(), batch.end(),
                                               [&](const Message& m) { return drop_(m); });
    if (!reachable || filtered || roll(random_) < options_.faults.drop) {
      schedule(delay(random_), from, [this, from, peer] {
        run_on(from, [&] { nodes_.at(from)->driver->report_unreachable(peer); });
      });
      continue;
    }
    const int copies = roll(random_) < options_.faults.duplicate ? 2 : 1;
    for (int copy = 0; copy < copies; ++copy) {
      schedule(delay(random_), peer,
               [this, from, peer, batch] { deliver(from, peer, std::move(batch)); });
    }
  }
}

void NodeCluster::deliver(NodeId from, NodeId to, std::vector<Message> batch) {
  // A partition that started while the batch was on its way still stops it.
  if (!link_up(from, to)) return;
  run_on(to, [&] { nodes_.at(to)->driver->receive(batch); });
}

// A stranger's message claiming a term no honest cluster reaches: it must change nothing.
void NodeCluster::forge_message() {
  const NodeId to = std::uniform_int_distribution<NodeId>(1, nodes_.size())(random_);
  if (!up(to)) return;
  Message forged;
  forged.type = std::uniform_int_distribution<int>(0, 1)(random_) == 0
                    ? consensus::MessageType::heartbeat
                    : consensus::MessageType::vote;
  forged.from = std::uniform_int_distribution<NodeId>(1, nodes_.size())(random_);
  forged.to = to;
  forged.term =
      std::numeric_limits<Term>::max() - std::uniform_int_distribution<Term>(0, 3)(random_);
  forged.index = std::numeric_limits<Index>::max() / 2;
  forged.log_term = forged.term;
  ++forged_;
  schedule(1, to,
           [this, to, forged] { run_on(to, [&] { nodes_.at(to)->driver->receive({forged}); }); });
}

void NodeCluster::run_until(std::int64_t until_us, const std::function<void()>& each_ms) {
  while (now_us_ < until_us) {
    const std::int64_t next_ms = (now_us_ / 1000 + 1) * 1000;
    while (!events_.empty() && events_.top().at < next_ms) {
      Event event = events_.top();
      events_.pop();
      now_us_ = std::max(now_us_, event.at);
      if (event.node != 0) {
        const auto& node = *nodes_.at(event.node);
        if (!node.up || node.incarnation != event.incarnation) continue;
      }
      event.work();
    }
    now_us_ = next_ms;
    if (options_.faults.forge > 0 &&
        std::uniform_real_distribution<double>(0, 1)(random_) < options_.faults.forge) {
      forge_message();
    }
    if (each_ms) each_ms();
    act_clients();
    check_invariants();
  }
}

std::optional<NodeId> NodeCluster::leader() const {
  std::optional<NodeId> found;
  Term best = 0;
  for (const auto& [id, node] : nodes_) {
    if (!node->up || node->driver->raft().role() != Role::leader) continue;
    if (node->driver->raft().term() >= best) {
      best = node->driver->raft().term();
      found = id;
    }
  }
  return found;
}

std::vector<NodeId> NodeCluster::node_ids() const {
  std::vector<NodeId> ids;
  for (const auto& [id, _] : nodes_) ids.push_back(id);
  return ids;
}

const consensus::RaftDriver* NodeCluster::driver(NodeId node) const {
  return up(node) ? nodes_.at(node)->driver.get() : nullptr;
}

std::map<std::string, std::string> NodeCluster::content(NodeId id) const {
  std::map<std::string, std::string> out;
  if (!up(id)) return out;
  for (const auto& kv : nodes_.at(id)->machine->replica.kv.range("")) out[kv.key] = kv.value;
  return out;
}

void NodeCluster::violation(std::string what) {
  violations_.push_back("t=" + std::to_string(now_us_ / 1000) + "ms: " + std::move(what));
}

// ---- clients ---------------------------------------------------------------------------

void NodeCluster::act_clients() {
  for (std::size_t i = 0; i < clients_.size(); ++i) {
    Client& client = clients_[i];
    if (client.op) {
      SimOp& op = history_[*client.op];
      if (now_us_ >= client.deadline_us) {
        // Never answered: it may or may not have happened.
        op.op.unknown = true;
        op.timed_out = true;
        if (op.issued_while_quiet && op.op.input.kind == OpKind::get) {
          violation("a read issued while the network was healthy timed out: " + describe(op.op));
        }
        client.op.reset();
        ++client.attempt;
      } else if (client.next_attempt_us != 0 && now_us_ >= client.next_attempt_us) {
        attempt(static_cast<int>(i));
      }
      continue;
    }
    if (clients_enabled_ && now_us_ >= client.idle_until_us) start_op(static_cast<int>(i));
  }
  for (auto& watcher : watchers_) {
    if (now_us_ % 20'000 == 0) poll_watcher(*watcher);
  }
}

void NodeCluster::start_op(int index) {
  Client& client = clients_[index];
  std::uniform_int_distribution<int> percent(0, 99);
  const int roll = percent(random_);
  SimOp op;
  op.op.client = index;
  op.op.call = now_us_;
  op.op.input.key = "k" + std::to_string(percent(random_) % options_.keys);
  op.op.input.value = "c" + std::to_string(index) + "-" + std::to_string(++client.sequence);
  if (roll < 40) {
    op.op.input.kind = OpKind::get;
    op.linearizable_read = percent(random_) < 85;
  } else if (roll < 75) {
    op.op.input.kind = OpKind::put;
  } else if (roll < 85) {
    op.op.input.kind = OpKind::del;
  } else {
    op.op.input.kind = OpKind::cas;
    // Expect a value some client wrote (or absence), so that some swaps succeed.
    const int writer = percent(random_) % options_.clients;
    if (percent(random_) < 20) {
      op.op.input.expected = std::nullopt;
    } else {
      op.op.input.expected = "c" + std::to_string(writer) + "-" +
                             std::to_string(std::max(1, clients_[writer].sequence - 1));
    }
  }
  op.issued_while_quiet = quiet_;
  history_.push_back(std::move(op));
  client.op = history_.size() - 1;
  client.deadline_us = now_us_ + options_.client_timeout_us;
  attempt(index);
}

void NodeCluster::attempt(int index) {
  Client& client = clients_[index];
  client.next_attempt_us = 0;
  const std::uint64_t attempt = ++client.attempt;
  const SimOp& op = history_[*client.op];
  const NodeId target = client.target;
  const auto retry_elsewhere = [this, index](std::optional<NodeId> hint) {
    Client& again = clients_[index];
    again.target = hint && *hint != 0
                       ? *hint
                       : std::uniform_int_distribution<NodeId>(1, nodes_.size())(random_);
    again.next_attempt_us = now_us_ + 5'000;
  };
  if (!up(target)) {
    retry_elsewhere(std::nullopt);
    return;
  }
  auto& target_driver = *nodes_.at(target)->driver;
  const auto deadline =
      consensus::DriverExecutor::Time{} + std::chrono::microseconds(client.deadline_us);
  // Answers come back as later events, never inside the driver's call.
  const auto answer = [this, index, attempt](std::optional<KvOutput> output) {
    schedule(std::uniform_int_distribution<int>(50, 500)(random_), 0,
             [this, index, attempt, output] {
               if (clients_[index].attempt == attempt && clients_[index].op) finish(index, output);
             });
  };
  if (op.op.input.kind == OpKind::get) {
    const std::string key = op.op.input.key;
    auto& machine = nodes_.at(target)->machine->replica;
    const auto read_now = [&machine, key]() {
      KvOutput output;
      if (auto kv = machine.kv.get(key)) output.value = kv->value;
      return output;
    };
    if (!op.linearizable_read) {
      answer(read_now());
      return;
    }
    run_on(target, [&] {
      target_driver.read(deadline, [this, index, attempt, answer, read_now, retry_elsewhere,
                                    target](ReadStatus status) {
        if (status == ReadStatus::ok) {
          answer(read_now());  // on the node's thread, at once: the barrier holds now
        } else if (status == ReadStatus::no_leader && clients_[index].attempt == attempt) {
          const auto* leader_of = driver(target);
          retry_elsewhere(leader_of ? std::optional(leader_of->raft().leader()) : std::nullopt);
        }
      });
    });
    return;
  }
  store::Txn txn;
  switch (op.op.input.kind) {
    case OpKind::put:
      txn = single({store::RequestOp::Kind::put, op.op.input.key, op.op.input.value, 0});
      break;
    case OpKind::del:
      txn = single({store::RequestOp::Kind::del, op.op.input.key, {}, 0});
      break;
    default: {
      store::Compare compare;
      compare.key = op.op.input.key;
      if (op.op.input.expected) {
        compare.target = store::Compare::Target::value;
        compare.value = *op.op.input.expected;
      } else {
        compare.target = store::Compare::Target::version;
        compare.number = 0;
      }
      txn = single({store::RequestOp::Kind::put, op.op.input.key, op.op.input.value, 0});
      txn.compares.push_back(compare);
      break;
    }
  }
  run_on(target, [&] {
    target_driver.propose(
        store::encode_command(txn), deadline,
        [this, index, attempt, answer, retry_elsewhere, target](consensus::ProposeResult result) {
          if (clients_[index].attempt != attempt) return;
          switch (result.status) {
            case consensus::ProposeStatus::ok: {
              auto decoded = store::decode_result(result.result);
              KvOutput output;
              output.ok = decoded && decoded->succeeded;
              answer(output);
              return;
            }
            case consensus::ProposeStatus::not_leader:
            case consensus::ProposeStatus::rejected: {
              // Nothing was proposed: safe to try again.
              const auto* on = driver(target);
              retry_elsewhere(on ? std::optional(on->raft().leader()) : std::nullopt);
              return;
            }
            case consensus::ProposeStatus::unknown:
              answer(std::nullopt);
              return;
          }
        });
  });
}

void NodeCluster::put(NodeId node, const std::string& key, std::function<void(bool)> done) {
  const std::string command =
      store::encode_command(single({store::RequestOp::Kind::put, key, key, 0}));
  const auto deadline = consensus::DriverExecutor::Time{} +
                        std::chrono::microseconds(now_us_ + options_.client_timeout_us);
  on_node(node, [&](consensus::RaftDriver& driver) {
    driver.propose(command, deadline, [done](consensus::ProposeResult result) {
      if (done) done(result.status == consensus::ProposeStatus::ok);
    });
  });
}

void NodeCluster::finish(int index, std::optional<KvOutput> output) {
  Client& client = clients_[index];
  SimOp& op = history_[*client.op];
  if (output) {
    op.op.output = *output;
    op.op.ret = now_us_;
  } else {
    op.op.unknown = true;
  }
  client.op.reset();
  ++client.attempt;
  client.idle_until_us = now_us_ + std::uniform_int_distribution<int>(0, 15'000)(random_);
}

// A watcher reads the events after the last it saw, as the watch API does: revisions must
// come in order, without gaps unless the history was compacted, and every replica must
// report the same events for a revision.
void NodeCluster::poll_watcher(Watcher& watcher) {
  if (!up(watcher.node) || nodes_.at(watcher.node)->incarnation != watcher.incarnation) return;
  const auto& kv = nodes_.at(watcher.node)->machine->replica.kv;
  auto result = kv.events_since(watcher.next);
  if (result.compacted) {
    watcher.next = result.compact_revision;
    watcher.last_seen = 0;
    return;
  }
  for (const auto& event : result.events) {
    const store::Revision revision = event.kv.mod_revision;
    if (revision < watcher.last_seen ||
        (watcher.last_seen != 0 && revision > watcher.last_seen + 1)) {
      violation("watcher on node " + std::to_string(watcher.node) + " saw revision " +
                std::to_string(revision) + " after " + std::to_string(watcher.last_seen));
    }
    watcher.last_seen = revision;
    watcher.next = revision + 1;
  }
}

// ---- invariants ------------------------------------------------------------------------

void NodeCluster::check_node_after_event(NodeId id) {
  Node& node = *nodes_.at(id);
  const auto& raft = node.driver->raft();
  if (raft.term() < node.highest_term) {
    violation("node " + std::to_string(id) + "'s term went back from " +
              std::to_string(node.highest_term) + " to " + std::to_string(raft.term()));
  }
  node.highest_term = std::max(node.highest_term, raft.term());
  if (!raft.has_ready()) {
    // Everything the driver decided is on disk now.
    node.durable_term = raft.term();
    node.durable_vote = raft.vote();
  }
  if (raft.role() == Role::leader) {
    auto [it, inserted] = leaders_by_term_.try_emplace(raft.term(), id);
    if (it->second != id) {
      violation("two leaders in term " + std::to_string(raft.term()) + ": " +
                std::to_string(it->second) + " and " + std::to_string(id));
    }
    if (node.last_role != Role::leader) {
      // Leader completeness: the new leader holds every entry any replica applied.
      const auto& log = raft.log();
      for (const auto& [index, command] : applied_) {
        if (index <= log.snapshot_index()) continue;
        auto entries = log.slice(index, 1, std::numeric_limits<std::size_t>::max());
        if (entries.empty() || entries[0].index != index || entries[0].data.size() < 16 ||
            std::string_view(entries[0].data).substr(16) != command) {
          violation("leader " + std::to_string(id) + " of term " + std::to_string(raft.term()) +
                    " lacks applied entry " + std::to_string(index));
          break;
        }
      }
    }
  }
  if (node.machine->restores > 0) {
    snapshots_installed_ += node.machine->restores;
    node.machine->restores = 0;
    // The worst moment to die: the snapshot is being made durable and the old log replaced.
    if (crash_after_install_ > 0 &&
        std::uniform_real_distribution<double>(0, 1)(random_) < crash_after_install_) {
      node.disk->crash_after_operations(std::uniform_int_distribution<std::size_t>(0, 8)(random_));
    }
  }
  node.last_role = raft.role();
}

// What a restarted node loaded must be one history, with nothing its disk promised lost.
void NodeCluster::check_loaded(NodeId id) {
  Node& node = *nodes_.at(id);
  const auto& raft = node.driver->raft();
  if (raft.term() < node.durable_term) {
    violation("node " + std::to_string(id) + " restarted at term " + std::to_string(raft.term()) +
              " below the durable " + std::to_string(node.durable_term));
  }
  if (raft.term() == node.durable_term && node.durable_vote != 0 &&
      raft.vote() != node.durable_vote) {
    violation("node " + std::to_string(id) + " forgot its vote in term " +
              std::to_string(raft.term()));
  }
  const auto& log = raft.log();
  Term previous = log.snapshot_term();
  for (Index index = log.first_index(); index <= log.last_index(); ++index) {
    const Term term = log.term(index).value_or(0);
    if (term < previous) {
      violation("node " + std::to_string(id) + " restarted with a log whose terms go back at " +
                std::to_string(index) + " (" + std::to_string(term) + " after " +
                std::to_string(previous) + ")");
      break;
    }
    previous = term;
  }
}

void NodeCluster::check_invariants() {
  // A leader's belief about a follower of its own term is never ahead of that follower's
  // log: the entry at `match` is the leader's own. A claim beyond it counts unverified
  // entries towards commit.
  for (const auto& [id, node] : nodes_) {
    if (!node->up || node->driver->raft().role() != Role::leader) continue;
    const auto& leader = node->driver->raft();
    for (const auto& [peer, progress] : leader.progress()) {
      if (peer == id || !up(peer)) continue;
      const auto& follower = nodes_.at(peer)->driver->raft();
      if (follower.term() != leader.term() || follower.leader() != id) continue;
      if (progress.match <= follower.log().snapshot_index()) continue;
      if (progress.match <= leader.log().snapshot_index()) continue;  // compacted here
      const auto theirs = follower.log().term(progress.match);
      if (!theirs || theirs != leader.log().term(progress.match)) {
        violation("leader " + std::to_string(id) + " believes node " + std::to_string(peer) +
                  " matches its log up to " + std::to_string(progress.match) +
                  ", which that node's log does not (its last index " +
                  std::to_string(follower.log().last_index()) + ", snapshot " +
                  std::to_string(follower.log().snapshot_index()) + ", term there " +
                  std::to_string(theirs.value_or(0)) + " vs " +
                  std::to_string(leader.log().term(progress.match).value_or(0)) + ", state " +
                  std::to_string(static_cast<int>(progress.state)) + ")");
      }
    }
  }
}

}  // namespace isla::sim
