#include "support/raft_cluster.hpp"

#include <algorithm>
#include <sstream>

namespace isla::testing {

using consensus::ConfChange;
using consensus::EntryType;
using consensus::Raft;
using consensus::Role;

namespace {

constexpr char kSeparator = '\x1f';
constexpr int kSnapshotEvery = 40;  // applied entries between snapshots

std::vector<std::string> split(const std::string& text) {
  std::vector<std::string> parts;
  std::string part;
  for (char c : text) {
    if (c == kSeparator) {
      parts.push_back(part);
      part.clear();
    } else {
      part.push_back(c);
    }
  }
  parts.push_back(part);
  return parts;
}

std::string join(const std::vector<std::string>& parts) {
  std::string out;
  for (std::size_t i = 0; i < parts.size(); ++i) {
    if (i > 0) out.push_back(kSeparator);
    out += parts[i];
  }
  return out;
}

// Commands: id, kind, key, value, has_expected ("1"/"0"), expected.
std::string encode_command(const std::string& id, const ClientOp& op) {
  return join({id, op.kind, op.key, op.value, op.expected ? "1" : "0", op.expected.value_or("")});
}

std::string serialize(const std::map<std::string, std::string>& map) {
  std::vector<std::string> parts;
  for (const auto& [key, value] : map) {
    parts.push_back(key);
    parts.push_back(value);
  }
  return join(parts);
}

constexpr char kRecordSeparator = '\x1e';

std::map<std::string, std::string> deserialize(const std::string& text);

}  // namespace

// A snapshot holds the key-value map and the answered request ids.
std::string RaftCluster::snapshot_of(const Machine& machine) {
  return serialize(machine.kv) + kRecordSeparator + serialize(machine.results);
}

void RaftCluster::restore_machine(Machine& machine, const std::string& data) {
  const auto split_at = data.find(kRecordSeparator);
  machine.kv = deserialize(data.substr(0, split_at));
  machine.results = split_at == std::string::npos ? std::map<std::string, std::string>{}
                                                  : deserialize(data.substr(split_at + 1));
}

namespace {

std::map<std::string, std::string> deserialize(const std::string& text) {
  std::map<std::string, std::string> map;
  if (text.empty()) return map;
  auto parts = split(text);
  for (std::size_t i = 0; i + 1 < parts.size(); i += 2) map[parts[i]] = parts[i + 1];
  return map;
}

}  // namespace

RaftCluster::RaftCluster(Options options) : options_(options), random_(options.seed) {
  consensus::ConfState conf;
  for (int i = 1; i <= options_.nodes; ++i) conf.voters.push_back(static_cast<NodeId>(i));
  for (NodeId id : conf.voters) {
    Node node;
    node.raft = std::make_unique<Raft>(options_for(id), conf);
    nodes_.emplace(id, std::move(node));
  }
  clients_.resize(static_cast<std::size_t>(options_.clients));
  for (std::size_t i = 0; i < clients_.size(); ++i) {
    clients_[i].target = static_cast<NodeId>(1 + i % static_cast<std::size_t>(options_.nodes));
  }
}

consensus::RaftOptions RaftCluster::options_for(NodeId id) {
  auto raft = options_.raft;
  raft.id = id;
  raft.random_seed = random_();
  return raft;
}

consensus::Raft* RaftCluster::node(NodeId id) {
  auto found = nodes_.find(id);
  return found == nodes_.end() || !found->second.up ? nullptr : found->second.raft.get();
}

bool RaftCluster::up(NodeId id) const {
  auto found = nodes_.find(id);
  return found != nodes_.end() && found->second.up;
}

std::vector<NodeId> RaftCluster::node_ids() const {
  std::vector<NodeId> ids;
  for (const auto& [id, node] : nodes_) ids.push_back(id);
  return ids;
}

std::optional<NodeId> RaftCluster::leader() const {
  std::optional<NodeId> best;
  Term best_term = 0;
  for (const auto& [id, node] : nodes_) {
    if (node.up && node.raft->role() == Role::leader && node.raft->term() >= best_term) {
      best = id;
      best_term = node.raft->term();
    }
  }
  return best;
}

std::map<std::string, std::string> RaftCluster::state(NodeId id) const {
  return nodes_.at(id).machine.kv;
}

Index RaftCluster::applied(NodeId id) const {
  return nodes_.at(id).raft->log().applied();
}

void RaftCluster::violation(std::string what) {
  violations_.push_back("tick " + std::to_string(tick_) + ": " + std::move(what));
}

void RaftCluster::step() {
  ++tick_;
  for (auto& [id, node] : nodes_) {
    if (!node.up) continue;
    // A node's clock runs at `rate` percent of real time (100 unless skewed).
    auto skew = skew_.find(id);
    node.skew_credit += skew == skew_.end() ? 100 : skew->second;
    int ticks = 0;
    while (node.skew_credit >= 100) {
      node.skew_credit -= 100;
      ++ticks;
    }
    for (int i = 0; i < ticks; ++i) node.raft->tick();
  }
  deliver_due();
  for (auto& [id, node] : nodes_) {
    if (node.up) process(id);
  }
  act_clients();
  for (auto& [id, node] : nodes_) {
    if (node.up) process(id);
  }
  if (tick_ % 50 == 0) check_invariants();
}

void RaftCluster::run(int ticks, const std::function<void(int)>& each_tick) {
  for (int i = 0; i < ticks; ++i) {
    if (each_tick) each_tick(i);
    step();
  }
}

void RaftCluster::send(const Message& message) {
  std::uniform_real_distribution<double> chance(0.0, 1.0);
  if (cut_.count({message.from, message.to}) > 0) return;
  if (chance(random_) < options_.faults.drop) return;
  const int copies = chance(random_) < options_.faults.duplicate ? 2 : 1;
  for (int i = 0; i < copies; ++i) {
    std::uniform_int_distribution<int> delay(
        options_.faults.min_delay, std::max(options_.faults.min_delay, options_.faults.max_delay));
    network_.push_back({tick_ + delay(random_), order_++, message});
  }
}

void RaftCluster::deliver_due() {
  std::vector<InFlight> due;
  auto split_at = std::stable_partition(network_.begin(), network_.end(),
                                        [&](const InFlight& m) { return m.at > tick_; });
  due.assign(std::make_move_iterator(split_at), std::make_move_iterator(network_.end()));
  network_.erase(split_at, network_.end());
  std::sort(due.begin(), due.end(), [](const InFlight& a, const InFlight& b) {
    return std::tie(a.at, a.order) < std::tie(b.at, b.order);
  });
  for (auto& in_flight : due) {
    auto target = nodes_.find(in_flight.message.to);
    if (target == nodes_.end() || !target->second.up) continue;
    if (cut_.count({in_flight.message.from, in_flight.message.to}) > 0) continue;
    target->second.raft->step(in_flight.message);
  }
}

void RaftCluster::persist(Node& node, const consensus::Ready& ready) {
  Disk& disk = node.disk;
  if (ready.snapshot) {
    // An installed snapshot replaces the whole log, as RaftStorage's install mark does: the
    // entries after it belonged to another history.
    disk.snapshot = ready.snapshot;
    disk.entries.clear();
    restore_machine(node.machine, ready.snapshot->data);
  }
  if (!ready.entries.empty()) {
    const Index first = ready.entries.front().index;
    std::erase_if(disk.entries, [&](const Entry& e) { return e.index >= first; });
    disk.entries.insert(disk.entries.end(), ready.entries.begin(), ready.entries.end());
  }
  if (ready.hard_state) disk.hard_state = *ready.hard_state;
}

void RaftCluster::apply(NodeId id, Node& node, const Entry& entry) {
  // State machine safety: no two nodes apply different entries at one index.
  auto [it, fresh] = committed_.emplace(entry.index, entry);
  if (!fresh && !(it->second == entry)) {
    violation("node " + std::to_string(id) + " applied a different entry at index " +
              std::to_string(entry.index));
  }
  if (entry.type == EntryType::conf_change) {
    if (auto change = consensus::decode_conf_change(entry.data)) {
      node.raft->apply_conf_change(*change);
    }
    return;
  }
  if (entry.data.empty()) return;
  const auto parts = split(entry.data);
  if (parts.size() != 6) return;
  const std::string& request = parts[0];
  std::string result;
  if (auto done = node.machine.results.find(request); done != node.machine.results.end()) {
    result = done->second;  // a duplicate of an applied request: same answer, no effect
  } else {
    auto& kv = node.machine.kv;
    const std::string& kind = parts[1];
    const std::string& key = parts[2];
    if (kind == "put") {
      kv[key] = parts[3];
      result = "ok";
    } else if (kind == "del") {
      kv.erase(key);
      result = "ok";
    } else if (kind == "cas") {
      auto current = kv.find(key);
      const bool matches = parts[4] == "1" ? current != kv.end() && current->second == parts[5]
                                           : current == kv.end();
      if (matches) kv[key] = parts[3];
      result = matches ? "ok" : "fail";
    }
    node.machine.results[request] = result;
  }
  if (auto waiting = pending_requests_.find(request); waiting != pending_requests_.end()) {
    auto& client = clients_[static_cast<std::size_t>(waiting->second.first)];
    if (client.target == id && client.request_id == request) {
      complete(waiting->second.first, client, result);
    }
  }
}

void RaftCluster::serve_reads(NodeId id, Node& node) {
  auto& reads = node.waiting_reads;
  for (auto it = reads.begin(); it != reads.end();) {
    if (node.raft->log().applied() < it->index) {
      ++it;
      continue;
    }
    auto waiting = pending_requests_.find(it->context);
    if (waiting != pending_requests_.end()) {
      const int index = waiting->second.first;
      auto& client = clients_[static_cast<std::size_t>(index)];
      if (client.target == id && client.request_id == it->context && client.op) {
        const auto& key = history_[*client.op].key;
        auto found = node.machine.kv.find(key);
        complete(index, client, found == node.machine.kv.end() ? "\x1d" : found->second);
      }
    }
    it = reads.erase(it);
  }
}

void RaftCluster::process(NodeId id) {
  Node& node = nodes_.at(id);
  while (node.raft->has_ready()) {
    auto ready = node.raft->ready();
    persist(node, ready);
    for (const auto& message : ready.messages) send(message);
    for (const auto& entry : ready.committed) apply(id, node, entry);
    node.waiting_reads.insert(node.waiting_reads.end(), ready.reads.begin(), ready.reads.end());
    node.raft->advance(ready);
    serve_reads(id, node);
    if (node.raft->role() == Role::leader) {
      auto [it, fresh] = leaders_by_term_.emplace(node.raft->term(), id);
      if (fresh) {
        // Leader completeness: a new leader holds every entry committed before its term.
        const auto& log = node.raft->log();
        for (const auto& [index, entry] : committed_) {
          if (index <= log.snapshot_index()) continue;
          if (log.term(index) != entry.term) {
            violation("leader " + std::to_string(id) + " of term " +
                      std::to_string(node.raft->term()) + " lacks committed entry " +
                      std::to_string(index));
          }
        }
      } else if (it->second != id) {
        violation("two leaders in term " + std::to_string(node.raft->term()) + ": " +
                  std::to_string(it->second) + " and " + std::to_string(id));
      }
    }
  }
  const Index applied = node.raft->log().applied();
  if (applied >= node.raft->log().snapshot_index() + kSnapshotEvery) {
    const std::string data = snapshot_of(node.machine);
    node.raft->compact(applied, data);
    node.disk.snapshot =
        consensus::Snapshot{applied, *node.raft->log().term(applied), node.raft->conf(), data};
    std::erase_if(node.disk.entries, [&](const Entry& e) { return e.index <= applied; });
  }
}

void RaftCluster::crash(NodeId id) {
  Node& node = nodes_.at(id);
  node.up = false;
  node.machine = Machine{};
  node.waiting_reads.clear();
}

void RaftCluster::restart(NodeId id) {
  Node& node = nodes_.at(id);
  consensus::ConfState conf;
  if (id <= static_cast<NodeId>(options_.nodes)) {
    for (int i = 1; i <= options_.nodes; ++i) conf.voters.push_back(static_cast<NodeId>(i));
  }
  consensus::PersistentState persisted{node.disk.hard_state, node.disk.snapshot, node.disk.entries};
  node.raft = std::make_unique<Raft>(options_for(id), conf, persisted);
  node.machine = Machine{};
  if (node.disk.snapshot) restore_machine(node.machine, node.disk.snapshot->data);
  node.up = true;
}

void RaftCluster::partition(const std::set<NodeId>& side) {
  for (const auto& [a, na] : nodes_) {
    for (const auto& [b, nb] : nodes_) {
      if (side.count(a) != side.count(b)) cut_.insert({a, b});
    }
  }
}

void RaftCluster::cut(NodeId from, NodeId to) {
  cut_.insert({from, to});
}
void RaftCluster::heal() {
  cut_.clear();
}

bool RaftCluster::change(const ConfChange& change) {
  auto id = leader();
  if (!id) return false;
  return nodes_.at(*id).raft->propose_conf_change(change) == consensus::ProposeError::none;
}

void RaftCluster::add_node(NodeId id) {
  Node node;
  node.raft = std::make_unique<Raft>(options_for(id), consensus::ConfState{});
  nodes_.emplace(id, std::move(node));
}

bool RaftCluster::clients_idle() const {
  return std::all_of(clients_.begin(), clients_.end(), [](const Client& c) { return !c.op; });
}

void RaftCluster::act_clients() {
  for (std::size_t i = 0; i < clients_.size(); ++i) {
    auto& client = clients_[i];
    const int index = static_cast<int>(i);
    if (client.op && tick_ >= client.deadline) {
      auto& op = history_[*client.op];
      op.unknown = true;
      op.ret = tick_;
      pending_requests_.erase(client.request_id);
      client.op.reset();
      client.next_attempt = tick_ + 1;
      // A client that got no answer tries another server next, as real clients do.
      std::uniform_int_distribution<int> any(1, options_.nodes);
      client.target = static_cast<NodeId>(any(random_));
    }
    if (!client.op && clients_enabled_ && tick_ >= client.next_attempt) start_op(index, client);
    if (client.op && tick_ >= client.next_attempt) attempt(index, client);
  }
}

void RaftCluster::start_op(int index, Client& client) {
  std::uniform_int_distribution<int> percent(0, 99);
  std::uniform_int_distribution<int> key(0, options_.keys - 1);
  ClientOp op;
  op.client = index;
  op.call = tick_;
  op.key = "k" + std::to_string(key(random_));
  const int roll = percent(random_);
  op.kind = roll < 40 ? "get" : roll < 70 ? "put" : roll < 90 ? "cas" : "del";
  op.value = "c" + std::to_string(index) + "-" + std::to_string(client.sequence);
  if (op.kind == "cas") {
    // Expect a value some client may have written, or absence.
    const int writer = percent(random_) % options_.clients;
    const int sequence = std::max(0, client.sequence - percent(random_) % 3);
    if (percent(random_) < 20) {
      op.expected.reset();
    } else {
      op.expected = "c" + std::to_string(writer) + "-" + std::to_string(sequence);
    }
  }
  client.request_id = "r" + std::to_string(index) + "-" + std::to_string(client.sequence++);
  client.op = history_.size();
  client.deadline = tick_ + options_.client_timeout_ticks;
  client.next_attempt = tick_;
  history_.push_back(op);
  pending_requests_[client.request_id] = {index, *client.op};
}

void RaftCluster::attempt(int index, Client& client) {
  (void)index;
  const auto& op = history_[*client.op];
  auto* raft = node(client.target);
  client.next_attempt = tick_ + 5;  // unless answered, look again in a while
  if (raft == nullptr) {
    std::uniform_int_distribution<int> pick(1, options_.nodes);
    client.target = static_cast<NodeId>(pick(random_));
    return;
  }
  const NodeId elsewhere = raft->leader() != 0 && raft->leader() != client.target
                               ? raft->leader()
                               : client.target % static_cast<NodeId>(options_.nodes) + 1;
  if (op.kind == "get") {
    // Reads go to any node now and then, as real clients' do: a deposed leader that still
    // believes in itself must not answer them from its stale state.
    std::uniform_int_distribution<int> percent(0, 99);
    if (percent(random_) < 30) {
      std::uniform_int_distribution<int> any(1, options_.nodes);
      client.target = static_cast<NodeId>(any(random_));
      raft = node(client.target);
      if (raft == nullptr) return;
    }
    if (raft->read_index(client.request_id)) {
      client.next_attempt = tick_ + options_.client_timeout_ticks;  // one read per op
    } else {
      client.target = elsewhere;
    }
    return;
  }
  if (raft->role() != Role::leader) {
    client.target = elsewhere;
    return;
  }
  // One proposal per op: a second could apply twice if the first commits late (the
  // state machine deduplicates by request id anyway).
  if (raft->propose(encode_command(client.request_id, op)) == consensus::ProposeError::none) {
    client.next_attempt = tick_ + options_.client_timeout_ticks;
  }
}

void RaftCluster::complete(int index, Client& client, const std::string& result) {
  (void)index;
  auto& op = history_[*client.op];
  op.ret = tick_;
  if (op.kind == "get") {
    op.result = result == "\x1d" ? std::nullopt : std::optional<std::string>(result);
  } else if (op.kind == "cas") {
    op.ok = result == "ok";
  }
  pending_requests_.erase(client.request_id);
  client.op.reset();
  client.next_attempt = tick_ + 1;
}

void RaftCluster::check_invariants() {
  // Log matching (§5.3): two logs with an entry of the same index and term are identical
  // up to it.
  std::vector<const consensus::RaftLog*> logs;
  for (const auto& [id, node] : nodes_) {
    if (node.up) logs.push_back(&node.raft->log());
  }
  for (std::size_t a = 0; a < logs.size(); ++a) {
    for (std::size_t b = a + 1; b < logs.size(); ++b) {
      const Index low = std::max(logs[a]->first_index(), logs[b]->first_index());
      const Index high = std::min(logs[a]->last_index(), logs[b]->last_index());
      bool matched_above = false;
      for (Index i = high; i >= low && i > 0; --i) {
        const bool same = logs[a]->term(i) == logs[b]->term(i);
        if (matched_above && !same) {
          violation("log matching broken at index " + std::to_string(i));
          break;
        }
        matched_above = matched_above || same;
      }
    }
  }
}

}  // namespace isla::testing
