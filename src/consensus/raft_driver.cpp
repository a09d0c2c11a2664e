#include "consensus/raft_driver.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "consensus/byte_io.hpp"

namespace isla::consensus {

namespace {

// Entries of proposals carry who proposed them, so that the proposer (and only it) finds
// the waiter to answer when the entry is applied. "Who" is this incarnation of the node, not
// its id: proposals are numbered from 1 again after a restart, and an entry the previous
// incarnation proposed may still commit; its result must not answer the new waiter that
// happens to have the same number.
std::string frame(std::uint64_t proposer, std::uint64_t proposal, std::string_view command) {
  return Writer().u64(proposer).u64(proposal).take() + std::string(command);
}

struct Framed {
  std::uint64_t proposer = 0;
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
  // Sized at once: the state machine's part can be hundreds of MiB, and growing the buffer
  // by doubling would copy it again on the Raft thread, where it holds up heartbeats.
  std::size_t size = 16 + machine.size();
  for (const auto& entry : addresses) size += 16 + entry.second.size();
  Writer out(size);
  out.u64(addresses.size());
  for (const auto& [node, address] : addresses) out.u64(node).bytes(address);
  return out.bytes(machine).take();
}

// nullopt if the bytes are not a wrapped snapshot (the caller decides how bad that is).
std::optional<std::string> unwrap_snapshot(const std::string& data,
                                           std::map<NodeId, std::string>& addresses) {
  Reader in(data);
  std::uint64_t count = 0;
  std::string machine;
  std::map<NodeId, std::string> found;
  bool ok = in.u64(count) && count <= data.size();
  for (std::uint64_t i = 0; ok && i < count; ++i) {
    NodeId node = 0;
    std::string address;
    ok = in.u64(node) && in.bytes(address);
    found[node] = std::move(address);
  }
  if (!ok || !in.bytes(machine) || !in.done()) return std::nullopt;
  for (auto& [node, address] : found) addresses[node] = std::move(address);
  return machine;
}

bool past(DriverExecutor::Time deadline, DriverExecutor::Time now) {
  return deadline <= now;
}

}  // namespace

RaftDriver::RaftDriver(DriverOptions options, durability::FileSystem& fs, StateMachine& machine,
                       Transport& transport, DriverExecutor& executor)
    : options_(std::move(options)),
      machine_(machine),
      transport_(transport),
      executor_(executor),
      storage_(fs, options_.dir, options_.wal) {
  if (!storage_.recovery().reason.empty()) {
    spdlog::warn("raft wal recovered dir=\"{}\" truncated_bytes={} reason=\"{}\" last_seq={}",
                 options_.dir.string(), storage_.recovery().truncated_bytes,
                 storage_.recovery().reason, storage_.recovery().last_seq);
  }
  auto persisted = storage_.load();
  if (persisted.snapshot) {
    auto state = unwrap_snapshot(persisted.snapshot->data, addresses_);
    if (!state) throw std::runtime_error("raft driver: the snapshot on disk is damaged");
    machine_.restore(*state);
  }
  spdlog::info("raft node loaded id={} term={} commit={} entries={} snapshot={}", id(),
               persisted.hard_state.term, persisted.hard_state.commit, persisted.entries.size(),
               persisted.snapshot ? persisted.snapshot->index : 0);
  // Members added after the snapshot (or all of them, without one) are in the log.
  for (const auto& entry : persisted.entries) {
    if (entry.type != EntryType::conf_change) continue;
    if (auto change = decode_conf_change(entry.data)) learn_address(*change);
  }
  for (const auto& [node, address] : options_.addresses) addresses_.try_emplace(node, address);
  read_prefix_ = fmt::format("{:x}.{:x}.", id(), options_.raft.random_seed);
  incarnation_ = std::hash<std::string>{}(read_prefix_) | 1;
  persisted_ = persisted.hard_state;
  // A member that has data takes its configuration from it (the snapshot, then the
  // conf-change entries it replays), never from flags that may have changed since.
  const bool fresh =
      !persisted.snapshot && persisted.entries.empty() && persisted.hard_state.term == 0;
  options_.raft.announce_commit_at_once = options_.commit_announce_delay.count() <= 0;
  raft_ = std::make_unique<Raft>(options_.raft, fresh ? options_.bootstrap : ConfState{},
                                 std::move(persisted), options_.addresses);
  tell_transport_addresses();
}

void RaftDriver::tell_transport_addresses() {
  for (const auto& [node, address] : addresses_) transport_.set_address(node, address);
}

int RaftDriver::read_retry_ticks() const {
  if (options_.read_retry_ticks > 0) return options_.read_retry_ticks;
  return std::max(2, options_.raft.election_ticks / 2);
}

// Deferred so that everything already queued (a burst of proposals, a batch of messages)
// is stepped before the next Ready: one fsync and one send per peer for all of it.
void RaftDriver::schedule_flush() {
  if (flush_scheduled_) return;
  flush_scheduled_ = true;
  executor_.post([this] {
    flush_scheduled_ = false;
    flush();
  });
}

void RaftDriver::tick() {
  raft_->tick();
  retry_stale_read_rounds();
  expire_waiters();
  flush();
}

void RaftDriver::receive(const std::vector<Message>& messages) {
  for (const auto& message : messages) {
    if (message.to == id()) raft_->step(message);
  }
  schedule_flush();
}

void RaftDriver::flush() {
  while (raft_->has_ready()) {
    Ready ready = raft_->ready();
    if (ready.snapshot) {
      auto state = unwrap_snapshot(ready.snapshot->data, addresses_);
      if (!state) throw std::runtime_error("raft driver: the leader's snapshot is damaged");
      machine_.restore(*state);
      tell_transport_addresses();
      applied_bytes_since_snapshot_ = 0;
      ++counters_.snapshots_installed;
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
  schedule_commit_announcement();
  if (on_flushed_) on_flushed_();
  auto flushed = std::move(after_flush_);
  after_flush_.clear();
  for (auto& done : flushed) done();
}

void RaftDriver::schedule_commit_announcement() {
  if (announce_scheduled_ || !raft_->commit_unannounced()) return;
  announce_scheduled_ = true;
  executor_.post_after(options_.commit_announce_delay, [this] {
    announce_scheduled_ = false;
    raft_->announce_commit();
    flush();
  });
}

void RaftDriver::apply(const std::vector<Entry>& entries) {
  for (const auto& entry : entries) {
    applied_bytes_since_snapshot_ += entry.data.size();
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
    if (framed->proposer != incarnation_) continue;
    auto found = proposals_.find(framed->proposal);
    if (found == proposals_.end()) continue;
    auto done = std::move(found->second.done);
    proposals_.erase(found);
    done({ProposeStatus::ok, entry.index, std::move(result)});
  }
  if (entries.empty()) return;
  const Index applied = entries.back().index;
  while (!applied_waiters_.empty() && applied_waiters_.begin()->first < applied) {
    auto done = std::move(applied_waiters_.begin()->second.done);
    applied_waiters_.erase(applied_waiters_.begin());
    done(applied);
  }
}

void RaftDriver::learn_address(const ConfChange& change) {
  if (change.address.empty() || change.kind == ConfChange::Kind::remove) return;
  addresses_[change.node] = change.address;
  transport_.set_address(change.node, change.address);
}

// A read is answered once the state machine has applied the index the leader confirmed.
void RaftDriver::serve_reads(const std::vector<ReadState>& reads) {
  for (const auto& read : reads) {
    auto found = reads_in_flight_.find(read.context);
    if (found == reads_in_flight_.end()) continue;  // retried under another context
    reads_ready_.emplace_back(read.index, std::move(found->second.waiters));
    reads_in_flight_.erase(found);
  }
  if (!reads.empty()) request_read_index();
}

void RaftDriver::release_applied_reads() {
  const Index applied = raft_->log().applied();
  std::vector<ReadWaiter> ready;
  std::erase_if(reads_ready_, [applied, &ready](auto& batch) {
    if (batch.first > applied) return false;
    for (auto& reader : batch.second) ready.push_back(std::move(reader));
    return true;
  });
  for (auto& reader : ready) reader.done(ReadStatus::ok);
}

// Readers that arrive while a ReadIndex round is in flight share the next one.
void RaftDriver::request_read_index() {
  if (reads_waiting_.empty() || !reads_in_flight_.empty()) return;
  // The leader keys pending reads by context alone, so a context must be unique across the
  // cluster and across this node's restarts: a repeated one is dropped as a duplicate.
  std::string context = read_prefix_ + std::to_string(next_read_++);
  if (!raft_->read_index(context)) {
    auto failed = std::move(reads_waiting_);
    reads_waiting_.clear();
    for (auto& reader : failed) reader.done(ReadStatus::no_leader);
    return;
  }
  ++counters_.read_rounds;
  reads_in_flight_[context] = ReadRound{0, std::move(reads_waiting_)};
  reads_waiting_.clear();
}

// The request or its answer travels as a message, which the network may lose; the leader
// keeps no promise to answer. A round unanswered for a while is asked again under a new
// context (an answer to the old one that still arrives is ignored).
void RaftDriver::retry_stale_read_rounds() {
  bool retried = false;
  for (auto it = reads_in_flight_.begin(); it != reads_in_flight_.end();) {
    if (++it->second.age < read_retry_ticks()) {
      ++it;
      continue;
    }
    auto& waiters = it->second.waiters;
    reads_waiting_.insert(reads_waiting_.begin(), std::make_move_iterator(waiters.begin()),
                          std::make_move_iterator(waiters.end()));
    it = reads_in_flight_.erase(it);
    retried = true;
  }
  if (retried) {
    ++counters_.read_retries;
    request_read_index();
  }
}

// A leader that lost its role cannot tell whether its pending proposals will commit; a
// read round addressed to an old leader will not be answered. Both give up now rather
// than at their deadline.
void RaftDriver::fail_waiters_after_role_change() {
  const bool changed = raft_->role() != last_role_ || raft_->term() != last_term_;
  if (raft_->leader() != last_leader_ && raft_->leader() != 0) ++counters_.leader_changes;
  last_role_ = raft_->role();
  last_term_ = raft_->term();
  last_leader_ = raft_->leader();
  if (!changed) return;
  std::vector<ProposeDone> failed;
  for (auto it = proposals_.begin(); it != proposals_.end();) {
    if (it->second.term == raft_->term() && raft_->role() == Role::leader) {
      ++it;
      continue;
    }
    failed.push_back(std::move(it->second.done));
    it = proposals_.erase(it);
  }
  for (auto& done : failed) done({ProposeStatus::unknown, 0, {}});
  for (auto& [context, round] : reads_in_flight_) {
    reads_waiting_.insert(reads_waiting_.end(), std::make_move_iterator(round.waiters.begin()),
                          std::make_move_iterator(round.waiters.end()));
  }
  reads_in_flight_.clear();
  if (raft_->leader() != 0) request_read_index();
}

// A waiter whose caller gave up must not stay: nothing else would ever remove a wait for an
// index that is never applied, or a read that no leader answers.
void RaftDriver::expire_waiters() {
  const Time now = executor_.now();
  std::vector<std::function<void()>> expired;
  for (auto it = proposals_.begin(); it != proposals_.end();) {
    if (!past(it->second.deadline, now)) {
      ++it;
      continue;
    }
    expired.push_back([done = std::move(it->second.done)] {
      done({ProposeStatus::unknown, 0, {}});
    });
    it = proposals_.erase(it);
  }
  const auto expire_reads = [&](std::vector<ReadWaiter>& readers) {
    std::erase_if(readers, [&](ReadWaiter& reader) {
      if (!past(reader.deadline, now)) return false;
      expired.push_back([done = std::move(reader.done)] { done(ReadStatus::timeout); });
      return true;
    });
  };
  expire_reads(reads_waiting_);
  for (auto& [context, round] : reads_in_flight_) expire_reads(round.waiters);
  for (auto& [index, readers] : reads_ready_) expire_reads(readers);
  std::erase_if(reads_ready_, [](const auto& batch) { return batch.second.empty(); });
  const Index applied = raft_->log().applied();
  for (auto it = applied_waiters_.begin(); it != applied_waiters_.end();) {
    if (!past(it->second.deadline, now)) {
      ++it;
      continue;
    }
    expired.push_back([done = std::move(it->second.done), applied] { done(applied); });
    it = applied_waiters_.erase(it);
  }
  counters_.waiters_expired += expired.size();
  for (auto& callback : expired) callback();
}

// The state is captured here; the file is written off the driver's thread, and only once
// it is durable does the driver release the WAL it covers. A crash in between leaves the
// WAL whole, so nothing depends on the file being there.
void RaftDriver::maybe_snapshot() {
  const Index applied = raft_->log().applied();
  const bool due = applied >= raft_->log().snapshot_index() + options_.snapshot_every ||
                   applied_bytes_since_snapshot_ >= options_.snapshot_log_bytes;
  if (snapshot_writing_ || !due || applied <= raft_->log().snapshot_index()) return;
  const Time started = executor_.now();
  auto snapshot = std::make_shared<Snapshot>();
  snapshot->index = applied;
  snapshot->term = *raft_->log().term(applied);
  snapshot->conf = raft_->conf();
  snapshot->data = wrap_snapshot(addresses_, machine_.snapshot());
  raft_->compact(applied, snapshot->data);
  snapshot_writing_ = true;
  applied_bytes_since_snapshot_ = 0;
  executor_.post_disk([this, snapshot, started] {
    storage_.write_snapshot_file(*snapshot);
    executor_.post([this, snapshot, started] {
      storage_.release_covered(*snapshot);
      snapshot_writing_ = false;
      const double seconds = std::chrono::duration<double>(executor_.now() - started).count();
      ++counters_.snapshots_taken;
      counters_.last_snapshot_bytes = snapshot->data.size();
      counters_.last_snapshot_seconds = seconds;
      spdlog::info("raft snapshot index={} bytes={} ms={:.1f}", snapshot->index,
                   snapshot->data.size(), seconds * 1000);
    });
  });
}

NodeStatus RaftDriver::status() const {
  NodeStatus status = counters_;
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
  std::size_t reads = reads_waiting_.size();
  for (const auto& [context, round] : reads_in_flight_) reads += round.waiters.size();
  for (const auto& [index, readers] : reads_ready_) reads += readers.size();
  status.waiters = proposals_.size() + reads + applied_waiters_.size();
  return status;
}

void RaftDriver::propose(std::string command, Time deadline, ProposeDone done) {
  ++counters_.proposals;
  if (raft_->role() != Role::leader) {
    ++counters_.proposals_failed;
    done({ProposeStatus::not_leader, 0, {}});
    return;
  }
  const std::uint64_t number = next_proposal_++;
  const auto error = raft_->propose(frame(incarnation_, number, command));
  if (error != ProposeError::none) {
    ++counters_.proposals_failed;
    done({error == ProposeError::not_leader ? ProposeStatus::not_leader : ProposeStatus::rejected,
          0,
          {}});
    return;
  }
  proposals_[number] = Proposal{raft_->term(), deadline, std::move(done)};
  schedule_flush();
}

void RaftDriver::read(Time deadline, ReadDone done) {
  reads_waiting_.push_back({deadline, std::move(done)});
  request_read_index();
  schedule_flush();
}

void RaftDriver::wait_applied_beyond(Index index, Time deadline, AppliedDone done) {
  const Index applied = raft_->log().applied();
  if (applied > index) {
    done(applied);
    return;
  }
  applied_waiters_.emplace(index, AppliedWaiter{deadline, std::move(done)});
}

ProposeStatus RaftDriver::propose_conf_change(const ConfChange& change) {
  const auto error = raft_->propose_conf_change(change);
  schedule_flush();
  return error == ProposeError::none         ? ProposeStatus::ok
         : error == ProposeError::not_leader ? ProposeStatus::not_leader
                                             : ProposeStatus::rejected;
}

void RaftDriver::transfer_leadership(NodeId target) {
  raft_->transfer_leadership(target);
  schedule_flush();
}

void RaftDriver::report_unreachable(NodeId node) {
  raft_->report_unreachable(node);
  schedule_flush();
}

}  // namespace isla::consensus
