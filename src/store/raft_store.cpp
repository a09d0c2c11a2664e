#include "store/raft_store.hpp"

#include <spdlog/spdlog.h>

#include <fmt/ranges.h>

#include <algorithm>
#include <random>

#include "core/backoff.hpp"
#include "core/random.hpp"
#include "rpc/call.hpp"
#include "store/command_codec.hpp"
#include "store/store_rpc.hpp"

namespace isla::store {

using consensus::NodeId;
using consensus::ProposeStatus;
using consensus::ReadStatus;

namespace {

std::int64_t wall_clock_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

NodeId node_id_for(const std::string& address) {
  // FNV-1a: stable across builds and machines, unlike std::hash.
  std::uint64_t hash = 14695981039346656037ull;
  for (unsigned char c : address) {
    hash ^= c;
    hash *= 1099511628211ull;
  }
  return hash == 0 ? 1 : hash;
}

Txn put_txn(std::string key, std::string value, LeaseId lease) {
  Txn txn;
  txn.success.push_back(RequestOp{RequestOp::Kind::put, std::move(key), std::move(value), lease});
  return txn;
}

Txn delete_txn(std::string key) {
  Txn txn;
  txn.success.push_back(RequestOp{RequestOp::Kind::del, std::move(key), {}, 0});
  return txn;
}

RaftStore::RaftStore(RaftStoreOptions options, net::IoPool& pool, const net::HttpClient& client)
    : options_(std::move(options)), pool_(pool), client_(client) {
  // Before anything reads the data: it must be this store's.
  identity_ = identity_for(options_.island, options_.voters);
  if (auto found = load_identity(fs_, options_.dir)) {
    const auto conflict = identity_conflict(*found, identity_, options_.dir);
    if (!conflict.empty()) throw std::runtime_error(conflict);
    identity_ = *found;
    spdlog::info("store reuses its data dir=\"{}\" island={} cluster={:016x}",
                 options_.dir.string(), identity_.island, identity_.cluster_id);
  } else {
    save_identity(fs_, options_.dir, identity_);
  }
  replica_ = std::make_unique<KvReplica>(&revision_);
  consensus::HttpTransportOptions transport;
  transport.cluster_id = identity_.cluster_id;
  transport.snapshot_chunk_bytes = options_.snapshot_chunk_bytes;
  transport.snapshot_observer = options_.snapshot_observer;
  transport.reply_key = options_.reply_key;
  transport_ = std::make_unique<consensus::HttpTransport>(
      pool_, client_, transport,
      [this](NodeId node) {
        if (node_) node_->report_unreachable(node);
      },
      [this](std::vector<consensus::Message> answers) {
        if (node_) node_->receive(std::move(answers));
      });
  consensus::RaftNodeOptions node;
  node.raft.id = node_id_for(options_.address);
  node.raft.election_ticks = options_.election_ticks;
  std::random_device device;
  node.raft.random_seed = (std::uint64_t{device()} << 32) | device();
  node.tick = options_.tick;
  node.dir = options_.dir;
  node.snapshot_every = options_.snapshot_every;
  node.commit_announce_delay = options_.commit_announce_delay;
  node.wal = options_.wal;
  for (const auto& voter : options_.voters) {
    node.bootstrap.voters.push_back(node_id_for(voter));
    node.addresses[node_id_for(voter)] = voter;
  }
  node.addresses[node.raft.id] = options_.address;
  consensus::AssemblerOptions assembler;
  assembler.cluster_id = identity_.cluster_id;
  assembler.self = node.raft.id;
  snapshots_ =
      std::make_unique<consensus::SnapshotAssembler>(assembler, options_.snapshot_observer);
  node_ = std::make_unique<consensus::RaftNode>(std::move(node), fs_, *replica_, *transport_);
  transport_->send_batches_from(node_->loop_context());
}

RaftStore::~RaftStore() {
  stop();
}

bool RaftStore::is_voter() const {
  return std::find(options_.voters.begin(), options_.voters.end(), options_.address) !=
         options_.voters.end();
}

void RaftStore::start() {
  *running_ = true;
  node_->start();
  asio::co_spawn(pool_.main(), expire_leases(), asio::detached);
  asio::co_spawn(pool_.main(), expire_snapshot_transfers(), asio::detached);
  if (!is_voter()) asio::co_spawn(pool_.main(), join(), asio::detached);
}

void RaftStore::stop() {
  *running_ = false;
  node_->stop();
}

consensus::NodeStatus RaftStore::status() const {
  return node_->status();
}

StoreError RaftStore::not_leader() const {
  auto status = node_->status();
  if (status.leader == 0) {
    return {StoreErrorCode::unavailable, "the store has no leader at the moment; retry", {}};
  }
  return {StoreErrorCode::not_leader, "this replica is not the store's leader",
          status.leader_address};
}

asio::awaitable<StoreResult<TxnResult>> RaftStore::propose(const std::string& command,
                                                           Deadline deadline) {
  auto proposed = co_await node_->propose(command, deadline);
  switch (proposed.status) {
    case ProposeStatus::ok:
      break;
    case ProposeStatus::not_leader:
      co_return StoreResult<TxnResult>{std::nullopt, not_leader()};
    case ProposeStatus::unknown:
      co_return StoreResult<TxnResult>{
          std::nullopt,
          {StoreErrorCode::unknown_outcome,
           "the leader changed or time ran out before the write committed; it may or may not "
           "have been applied",
           {}}};
    case ProposeStatus::rejected:
      co_return StoreResult<TxnResult>{
          std::nullopt,
          {StoreErrorCode::unavailable, "the leader is handing over leadership; retry", {}}};
  }
  auto result = decode_result(proposed.result);
  if (!result) {
    co_return StoreResult<TxnResult>{
        std::nullopt, {StoreErrorCode::unknown_outcome, "the store's answer did not decode", {}}};
  }
  co_return StoreResult<TxnResult>{std::move(*result), {}};
}

asio::awaitable<StoreResult<TxnResult>> RaftStore::txn(const Txn& txn, Deadline deadline) {
  const auto command = encode_command(txn);
  co_return co_await propose(command, deadline);
}

asio::awaitable<StoreResult<RangeResult>> RaftStore::range(const std::string& key, bool prefix,
                                                           Consistency consistency,
                                                           Deadline deadline) {
  const auto read_replica = [this, key, prefix] {
    RangeResult result;
    result.revision = replica_->kv.revision();
    if (prefix) {
      result.kvs = replica_->kv.range(key);
    } else if (auto kv = replica_->kv.get(key)) {
      result.kvs.push_back(std::move(*kv));
    }
    return result;
  };
  if (consistency == Consistency::serializable) {
    auto read = co_await node_->run(read_replica);
    co_return StoreResult<RangeResult>{std::move(read), {}};
  }
  auto status = ReadStatus::ok;
  auto read = co_await node_->read(read_replica, deadline, status);
  if (read) co_return StoreResult<RangeResult>{std::move(*read), {}};
  co_return StoreResult<RangeResult>{
      std::nullopt,
      {StoreErrorCode::unavailable,
       status == ReadStatus::no_leader
           ? "the store has no leader to confirm a linearizable read; retry, or ask for a "
             "serializable one"
           : "no leader confirmed the read before the deadline",
       {}}};
}

asio::awaitable<StoreResult<WatchResult>> RaftStore::watch(const std::string& prefix, Revision from,
                                                           Deadline until) {
  // A page's bounds: what one visit copies on the Raft thread, and what a watcher's stream
  // holds at once, whatever history it asked for.
  constexpr std::size_t kPageEvents = 1000;
  constexpr std::size_t kPageBytes = std::size_t{1} << 20;
  // Owns its prefix: a read scheduled for when entries apply may run after this call ended.
  const auto events_since = [this, prefix](Revision next) {
    return replica_->kv.events_since(next, prefix, kPageEvents, kPageBytes);
  };
  const auto first_read = [&events_since, from, this] {
    return std::pair{events_since(from), node_->status().applied};
  };
  auto read = co_await node_->run(first_read);
  for (;;) {
    if (read.first.compacted || !read.first.events.empty() ||
        std::chrono::steady_clock::now() >= until || !*running_) {
      co_return StoreResult<WatchResult>{std::move(read.first), {}};
    }
    // Read as the next entries apply, in the same visit to the Raft thread.
    auto next_read = [events_since, next = read.first.next](consensus::Index applied) {
      return std::pair{events_since(next), applied};
    };
    auto later = co_await node_->run_when_applied_beyond(read.second, until, std::move(next_read));
    if (!later) co_return StoreResult<WatchResult>{std::move(read.first), {}};
    read = std::move(*later);
  }
}

asio::awaitable<StoreResult<Lease>> RaftStore::grant_lease(std::int64_t ttl_ms, Deadline deadline) {
  thread_local std::mt19937_64 random{std::random_device{}()};
  const LeaseId id = static_cast<LeaseId>(random() >> 1) | 1;
  const auto command = encode_command(GrantLease{id, ttl_ms, wall_clock_ms()});
  auto result = co_await propose(command, deadline);
  if (!result.ok()) co_return StoreResult<Lease>{std::nullopt, std::move(result.error)};
  if (!result.value->error.empty()) {
    co_return StoreResult<Lease>{std::nullopt, {StoreErrorCode::rejected, result.value->error, {}}};
  }
  co_return StoreResult<Lease>{Lease{id, ttl_ms}, {}};
}

asio::awaitable<StoreResult<Lease>> RaftStore::keep_alive(LeaseId id, Deadline deadline) {
  const auto command = encode_command(KeepAlive{id, wall_clock_ms()});
  auto result = co_await propose(command, deadline);
  if (!result.ok()) co_return StoreResult<Lease>{std::nullopt, std::move(result.error)};
  if (!result.value->error.empty()) {
    co_return StoreResult<Lease>{std::nullopt, {StoreErrorCode::rejected, result.value->error, {}}};
  }
  co_return StoreResult<Lease>{Lease{id, 0}, {}};
}

asio::awaitable<StoreResult<TxnResult>> RaftStore::revoke_lease(LeaseId id, Deadline deadline) {
  const auto command = encode_command(RevokeLease{id});
  co_return co_await propose(command, deadline);
}

void RaftStore::receive(std::vector<consensus::Message> messages) {
  node_->receive(std::move(messages));
}

asio::awaitable<std::vector<consensus::Message>> RaftStore::receive_and_answer(
    std::vector<consensus::Message> messages, Deadline deadline) {
  std::vector<consensus::Message> none;
  if (messages.empty()) co_return none;
  // A batch comes from one peer; a mixed one only loses its other senders' answers to the
  // requests of their own they then take.
  const auto sender = messages.front().from;
  transport_->hold(sender);
  co_await node_->receive_and_flush(std::move(messages), deadline);
  co_return transport_->release(sender);
}

consensus::ChunkAnswer RaftStore::receive_snapshot_chunk(std::string_view query,
                                                         std::string_view data) {
  auto result = snapshots_->accept(query, data, std::chrono::steady_clock::now());
  if (result.message) {
    spdlog::info("raft snapshot received from={} index={} bytes={}", result.message->from,
                 result.message->snapshot->index, result.answer.offset.value_or(0));
    // Not a braced list: its elements are copied, and this one holds the whole snapshot.
    std::vector<consensus::Message> messages;
    messages.push_back(std::move(*result.message));
    node_->receive(std::move(messages));
  }
  return result.answer;
}

// A sender that stopped mid-transfer leaves its partial snapshot here: free it in time even
// if no other chunk comes to notice.
asio::awaitable<void> RaftStore::expire_snapshot_transfers() {
  auto running = running_;
  while (*running) {
    co_await net::sleep_for(std::chrono::seconds(5));
    if (!*running) break;
    snapshots_->expire(std::chrono::steady_clock::now());
  }
}

asio::awaitable<StoreError> RaftStore::add_learner(NodeId id, const std::string& address) {
  auto status = node_->status();
  const auto& learners = status.conf.learners;
  const auto& voters = status.conf.voters;
  if (std::find(learners.begin(), learners.end(), id) != learners.end() ||
      std::find(voters.begin(), voters.end(), id) != voters.end()) {
    co_return StoreError{};
  }
  const consensus::ConfChange change{consensus::ConfChange::Kind::add_learner, id, address};
  const auto proposed = co_await node_->propose_conf_change(change);
  switch (proposed) {
    case ProposeStatus::ok:
      co_return StoreError{};
    case ProposeStatus::not_leader:
      co_return not_leader();
    default:
      co_return StoreError{
          StoreErrorCode::unavailable, "another membership change is in progress; retry", {}};
  }
}

// The leader proposes the revocation of leases whose holders stopped keeping them alive
// (and, on the same beat, promotes learners that have caught up).
asio::awaitable<void> RaftStore::expire_leases() {
  auto running = running_;
  std::int64_t leader_since_ms = 0;  // 0 while another node leads
  while (*running) {
    co_await net::sleep_for(options_.lease_check_interval);
    if (!*running) break;
    record_membership();
    if (node_->status().role != consensus::Role::leader) {
      leader_since_ms = 0;
      continue;
    }
    if (leader_since_ms == 0) leader_since_ms = wall_clock_ms();
    co_await promote_caught_up_learners();
    const auto find_expired = [this, leader_since_ms] {
      return replica_->kv.expired_leases(wall_clock_ms(), leader_since_ms);
    };
    auto expired = co_await node_->run(find_expired);
    for (LeaseId id : expired) {
      spdlog::info("store lease expired id={}", id);
      co_await revoke_lease(id, std::chrono::steady_clock::now() + std::chrono::seconds(2));
    }
  }
}

// The identity file follows the voters as membership changes commit, so that a restart
// compares its flags with the current members rather than the founding ones.
void RaftStore::record_membership() {
  const auto status = node_->status();
  std::vector<std::string> voters;
  for (NodeId voter : status.conf.voters) {
    auto address = status.addresses.find(voter);
    if (address == status.addresses.end()) return;  // not known yet: try again later
    voters.push_back(address->second);
  }
  if (voters.empty()) return;
  std::sort(voters.begin(), voters.end());
  if (voters == identity_.voters) return;
  spdlog::info("store voters changed from={} to={}", fmt::join(identity_.voters, ","),
               fmt::join(voters, ","));
  identity_.voters = std::move(voters);
  save_identity(fs_, options_.dir, identity_);
}

// A replica outside the configured voters asks them, in turn, to add it as a learner.
asio::awaitable<void> RaftStore::join() {
  auto running = running_;
  core::SeededRandom random(core::seed_from_device());
  core::Backoff backoff({std::chrono::milliseconds(100), std::chrono::milliseconds(2000)}, random);
  const JoinRequest request{node_id_for(options_.address), options_.address};
  for (std::size_t attempt = 0; *running; ++attempt) {
    const auto& voter = options_.voters[attempt % options_.voters.size()];
    auto endpoint = core::parse_endpoint(voter);
    if (endpoint) {
      rpc::CallOptions call;
      call.deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
      auto answer = co_await rpc::exchange(client_, *endpoint, kJoinStore, request, call);
      if (answer.ok()) {
        spdlog::info("store joined as learner via={}", voter);
        co_return;
      }
    }
    co_await net::sleep_for(backoff.next());
  }
}

}  // namespace isla::store
