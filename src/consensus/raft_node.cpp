#include "consensus/raft_node.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <random>

#include "consensus/byte_io.hpp"

namespace isla::consensus {

namespace {

// Entries of proposals carry who proposed them, so that the proposer (and only it) finds
// the waiter to answer when the entry is applied.
std::string frame(NodeId proposer, std::uint64_t proposal, std::string_view command) {
  return Writer().u64(proposer).u64(proposal).take() + std::string(command);
}

struct Framed {
  NodeId proposer = 0;
  std::uint64_t proposal = 0;
  std::string_view command;
};

std::optional<Framed> unframe(std::string_view data) {
  Framed framed;
  Reader in(data.substr(0, std::min<std::size_t>(data.size(), 16)));
  if (data.size() < 16 || !in.u64(framed.proposer) || !in.u64(framed.proposal)) {
    return std::nullopt;
  }
  framed.command = data.substr(16);
  return framed;
}

// A snapshot holds the members' addresses as well as the application's state, so that a
// node restored from it can still reach members whose conf-change entries it covers.
std::string wrap_snapshot(const std::map<NodeId, std::string>& addresses,
                          const std::string& machine) {
  Writer out;
  out.u64(addresses.size());
  for (const auto& [node, address] : addresses) out.u64(node).bytes(address);
  return out.bytes(machine).take();
}

std::string unwrap_snapshot(const std::string& data, std::map<NodeId, std::string>& addresses) {
  Reader in(data);
  std::uint64_t count = 0;
  std::string machine;
  bool ok = in.u64(count) && count <= data.size();
  for (std::uint64_t i = 0; ok && i < count; ++i) {
    NodeId node = 0;
    std::string address;
    ok = in.u64(node) && in.bytes(address);
    addresses[node] = std::move(address);
  }
  if (!ok || !in.bytes(machine) || !in.done()) {
    throw std::runtime_error("raft node: snapshot data is damaged");
  }
  return machine;
}

}  // namespace

RaftNode::RaftNode(RaftNodeOptions options, durability::FileSystem& fs, StateMachine& machine,
                   Transport& transport)
    : options_(std::move(options)),
      machine_(machine),
      transport_(transport),
      storage_(fs, options_.dir),
      addresses_(options_.addresses) {
  if (!storage_.recovery().reason.empty()) {
    spdlog::warn("raft wal recovered dir=\"{}\" truncated_bytes={} reason=\"{}\" last_seq={}",
                 options_.dir.string(), storage_.recovery().truncated_bytes,
                 storage_.recovery().reason, storage_.recovery().last_seq);
  }
  auto persisted = storage_.load();
  if (persisted.snapshot) {
    machine_.restore(unwrap_snapshot(persisted.snapshot->data, addresses_));
  }
  spdlog::info("raft node loaded id={} term={} commit={} entries={} snapshot={}", options_.raft.id,
               persisted.hard_state.term, persisted.hard_state.commit, persisted.entries.size(),
               persisted.snapshot ? persisted.snapshot->index : 0);
  // Addresses of members added after the bootstrap are in the conf-change entries.
  for (const auto& entry : persisted.entries) {
    if (entry.type != EntryType::conf_change) continue;
    if (auto change = decode_conf_change(entry.data)) learn_address(*change);
  }
  read_prefix_ = fmt::format("{:x}.{:x}.", options_.raft.id, std::random_device{}());
  persisted_ = persisted.hard_state;
  raft_ = std::make_unique<Raft>(options_.raft, options_.bootstrap, std::move(persisted));
  for (const auto& [node, address] : addresses_) transport_.set_address(node, address);
  publish_status();
}

RaftNode::~RaftNode() {
  stop();
}

namespace {

// A disk that cannot be written is not something a replica can serve through: stop here,
// loudly, rather than acknowledge writes that are not durable (etcd panics too).
void run_or_abort(asio::io_context& context, NodeId id, const char* what) {
  auto guard = asio::make_work_guard(context);
  try {
    context.run();
  } catch (const std::exception& error) {
    spdlog::critical("raft node {} failed id={} error=\"{}\"", what, id, error.what());
    std::abort();
  }
}

}  // namespace

void RaftNode::start() {
  ticker_ = std::make_unique<asio::steady_timer>(loop_);
  ticker_->expires_after(options_.tick);
  ticker_->async_wait([this](boost::system::error_code error) {
    if (!error) on_tick();
  });
  thread_ = std::thread([this] { run_or_abort(loop_, id(), "loop"); });
  disk_thread_ = std::thread([this] { run_or_abort(disk_, id(), "snapshot writer"); });
}

void RaftNode::stop() {
  if (!thread_.joinable()) return;
  loop_.stop();
  thread_.join();
  disk_.stop();
  disk_thread_.join();
}

void RaftNode::post(std::function<void()> work) {
  asio::post(loop_, [this, work = std::move(work)] {
    work();
    schedule_flush();
  });
}

// Deferred so that everything already queued (a burst of proposals, a batch of messages)
// is stepped before the next Ready: one fsync and one send per peer for all of it.
void RaftNode::schedule_flush() {
  if (flush_scheduled_) return;
  flush_scheduled_ = true;
  asio::post(loop_, [this] {
    flush_scheduled_ = false;
    flush();
  });
}

void RaftNode::on_tick() {
  raft_->tick();
  flush();
  ticker_->expires_after(options_.tick);
  ticker_->async_wait([this](boost::system::error_code error) {
    if (!error) on_tick();
  });
}

void RaftNode::flush() {
  while (raft_->has_ready()) {
    Ready ready = raft_->ready();
    if (ready.snapshot) {
      machine_.restore(unwrap_snapshot(ready.snapshot->data, addresses_));
      for (const auto& [node, address] : addresses_) transport_.set_address(node, address);
    }
    // A leader's appends and heartbeats promise nothing about its own disk, so it sends
    // them first and writes its log while followers write theirs (Raft thesis §10.2.1); its
    // own entries count towards commit only once advance() says they are stable. Anything
    // else waits for the disk: votes and append responses are promises about it, and a
    // Ready in which the term or vote changed may carry vote requests.
    const bool term_or_vote_changed =
        ready.hard_state &&
        (ready.hard_state->term != persisted_.term || ready.hard_state->vote != persisted_.vote);
    if (ready.role == Role::leader && !term_or_vote_changed) {
      transport_.send(std::move(ready.messages));
      storage_.save(ready);
    } else {
      storage_.save(ready);
      transport_.send(std::move(ready.messages));
    }
    if (ready.hard_state) persisted_ = *ready.hard_state;
    apply(ready.committed);
    raft_->advance(ready);
    serve_reads(ready.reads);
    release_applied_reads();
    maybe_snapshot();
  }
  fail_waiters_after_role_change();
  publish_status();
}

void RaftNode::apply(const std::vector<Entry>& entries) {
  for (const auto& entry : entries) {
    if (entry.type == EntryType::conf_change) {
      if (auto change = decode_conf_change(entry.data)) {
        raft_->apply_conf_change(*change);
        learn_address(*change);
      }
      continue;
    }
    if (entry.data.empty()) continue;  // a new leader's no-op
    auto framed = unframe(entry.data);
    if (!framed) {
      spdlog::error("raft entry without a proposal frame index={}", entry.index);
      continue;
    }
    std::string result = machine_.apply(entry.index, framed->command);
    if (framed->proposer != id()) continue;
    auto found = proposals_.find(framed->proposal);
    if (found == proposals_.end()) continue;
    net::Completion<ProposeResult>::complete(std::move(found->second.waiter),
                                             {ProposeStatus::ok, entry.index, std::move(result)});
    proposals_.erase(found);
  }
  if (!entries.empty()) {
    const Index applied = entries.back().index;
    std::erase_if(applied_waiters_, [applied](auto& waiter) {
      if (applied <= waiter.first) return false;
      net::Completion<Index>::complete(std::move(waiter.second), applied);
      return true;
    });
  }
}

void RaftNode::learn_address(const ConfChange& change) {
  if (change.address.empty() || change.kind == ConfChange::Kind::remove) return;
  addresses_[change.node] = change.address;
  transport_.set_address(change.node, change.address);
}

// A read is answered once the state machine has applied the index the leader confirmed.
void RaftNode::serve_reads(const std::vector<ReadState>& reads) {
  for (const auto& read : reads) {
    auto found = reads_in_flight_.find(read.context);
    if (found == reads_in_flight_.end()) continue;
    reads_ready_.emplace_back(read.index, std::move(found->second));
    reads_in_flight_.erase(found);
  }
  if (!reads.empty() && reads_in_flight_.empty()) request_read_index();
}

void RaftNode::add_reader(ReadWaiter reader) {
  reads_waiting_.push_back(std::move(reader));
  request_read_index();
}

void RaftNode::release_applied_reads() {
  const Index applied = raft_->log().applied();
  std::erase_if(reads_ready_, [applied](auto& batch) {
    if (batch.first > applied) return false;
    for (auto& reader : batch.second) reader(ReadStatus::ok);
    return true;
  });
}

// Readers that arrive while a ReadIndex round is in flight share the next one.
void RaftNode::request_read_index() {
  if (reads_waiting_.empty() || !reads_in_flight_.empty()) return;
  // The leader keys pending reads by context alone, so a context must be unique across the
  // cluster and across this node's restarts: a repeated one is dropped as a duplicate.
  std::string context = read_prefix_ + std::to_string(next_read_++);
  if (!raft_->read_index(context)) {
    for (auto& reader : reads_waiting_) reader(ReadStatus::no_leader);
    reads_waiting_.clear();
    return;
  }
  reads_in_flight_[context] = std::move(reads_waiting_);
  reads_waiting_.clear();
}

// A leader that lost its role cannot tell whether its pending proposals will commit; a
// read round addressed to an old leader will not be answered. Both give up now rather
// than at their deadline.
void RaftNode::fail_waiters_after_role_change() {
  const bool changed = raft_->role() != last_role_ || raft_->term() != last_term_;
  last_role_ = raft_->role();
  last_term_ = raft_->term();
  if (!changed) return;
  for (auto it = proposals_.begin(); it != proposals_.end();) {
    if (it->second.term == raft_->term() && raft_->role() == Role::leader) {
      ++it;
      continue;
    }
    net::Completion<ProposeResult>::complete(std::move(it->second.waiter),
                                             {ProposeStatus::unknown, 0, {}});
    it = proposals_.erase(it);
  }
  for (auto& [context, waiters] : reads_in_flight_) {
    reads_waiting_.insert(reads_waiting_.end(), waiters.begin(), waiters.end());
  }
  reads_in_flight_.clear();
  if (raft_->leader() != 0) request_read_index();
}

// The state is captured here, on the loop; the file is written on the disk thread, and only
// once it is durable does the loop release the WAL it covers. A crash in between leaves the
// WAL whole, so nothing depends on the file being there.
void RaftNode::maybe_snapshot() {
  const Index applied = raft_->log().applied();
  if (snapshot_writing_ || applied < raft_->log().snapshot_index() + options_.snapshot_every) {
    return;
  }
  const auto started = std::chrono::steady_clock::now();
  auto snapshot = std::make_shared<Snapshot>();
  snapshot->index = applied;
  snapshot->term = *raft_->log().term(applied);
  snapshot->conf = raft_->conf();
  snapshot->data = wrap_snapshot(addresses_, machine_.snapshot());
  raft_->compact(applied, snapshot->data);
  snapshot_writing_ = true;
  const auto captured = std::chrono::steady_clock::now();
  asio::post(disk_, [this, snapshot, started, captured] {
    storage_.write_snapshot_file(*snapshot);
    const auto written = std::chrono::steady_clock::now();
    asio::post(loop_, [this, snapshot, started, captured, written] {
      storage_.release_covered(snapshot->index);
      snapshot_writing_ = false;
      using ms = std::chrono::duration<double, std::milli>;
      spdlog::info(
          "raft snapshot index={} bytes={} capture_ms={:.1f} write_ms={:.1f} release_ms={:.1f}",
          snapshot->index, snapshot->data.size(), ms(captured - started).count(),
          ms(written - captured).count(), ms(std::chrono::steady_clock::now() - written).count());
    });
  });
}

void RaftNode::publish_status() {
  NodeStatus status;
  status.id = id();
  status.role = raft_->role();
  status.term = raft_->term();
  status.leader = raft_->leader();
  if (auto found = addresses_.find(status.leader); found != addresses_.end()) {
    status.leader_address = found->second;
  }
  status.commit = raft_->log().committed();
  status.applied = raft_->log().applied();
  status.last_index = raft_->log().last_index();
  status.snapshot_index = raft_->log().snapshot_index();
  status.conf = raft_->conf();
  status.addresses = addresses_;
  std::lock_guard lock(status_mutex_);
  status_ = std::move(status);
}

NodeStatus RaftNode::status() const {
  std::lock_guard lock(status_mutex_);
  return status_;
}

asio::awaitable<ProposeResult> RaftNode::propose(const std::string& command,
                                                 std::chrono::steady_clock::time_point deadline) {
  auto waiter = net::Completion<ProposeResult>::on(co_await asio::this_coro::executor);
  post([this, waiter, command]() mutable {
    if (raft_->role() != Role::leader) {
      net::Completion<ProposeResult>::complete(std::move(waiter),
                                               {ProposeStatus::not_leader, 0, {}});
      return;
    }
    const std::uint64_t number = next_proposal_++;
    const auto error = raft_->propose(frame(id(), number, command));
    if (error == ProposeError::none) {
      proposals_[number] = Proposal{raft_->term(), std::move(waiter)};
    } else {
      net::Completion<ProposeResult>::complete(
          std::move(waiter),
          {error == ProposeError::not_leader ? ProposeStatus::not_leader : ProposeStatus::rejected,
           0,
           {}});
    }
  });
  auto result = co_await waiter->wait(deadline);
  // The entry may still commit after the deadline; its answer then goes nowhere.
  co_return result.value_or(ProposeResult{ProposeStatus::unknown, 0, {}});
}

asio::awaitable<ReadStatus> RaftNode::read_barrier(std::chrono::steady_clock::time_point deadline) {
  auto waiter = net::Completion<ReadStatus>::on(co_await asio::this_coro::executor);
  post([this, waiter]() mutable {
    add_reader([waiter = std::move(waiter)](ReadStatus status) mutable {
      net::Completion<ReadStatus>::complete(std::move(waiter), status);
    });
  });
  auto result = co_await waiter->wait(deadline);
  co_return result.value_or(ReadStatus::timeout);
}

asio::awaitable<Index> RaftNode::wait_applied_beyond(
    Index index, std::chrono::steady_clock::time_point deadline) {
  auto waiter = net::Completion<Index>::on(co_await asio::this_coro::executor);
  post([this, waiter, index]() mutable {
    if (raft_->log().applied() > index) {
      net::Completion<Index>::complete(std::move(waiter), raft_->log().applied());
    } else {
      applied_waiters_.emplace_back(index, std::move(waiter));
    }
  });
  auto result = co_await waiter->wait(deadline);
  co_return result.value_or(index);
}

void RaftNode::receive(std::vector<Message> messages) {
  post([this, messages = std::move(messages)] {
    for (const auto& message : messages) {
      if (message.to == id()) raft_->step(message);
    }
  });
}

asio::awaitable<ProposeStatus> RaftNode::propose_conf_change(const ConfChange& change) {
  const auto propose_change = [this, &change] {
    const auto error = raft_->propose_conf_change(change);
    return error == ProposeError::none         ? ProposeStatus::ok
           : error == ProposeError::not_leader ? ProposeStatus::not_leader
                                               : ProposeStatus::rejected;
  };
  co_return co_await run(propose_change);
}

void RaftNode::transfer_leadership(NodeId target) {
  post([this, target] { raft_->transfer_leadership(target); });
}

void RaftNode::report_unreachable(NodeId node) {
  post([this, node] { raft_->report_unreachable(node); });
}

}  // namespace isla::consensus
