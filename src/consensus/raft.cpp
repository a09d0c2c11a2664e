#include "consensus/raft.hpp"

#include <algorithm>
#include <stdexcept>

namespace isla::consensus {

namespace {

constexpr const char* kTransferContext = "transfer";

bool contains(const std::vector<NodeId>& nodes, NodeId node) {
  return std::find(nodes.begin(), nodes.end(), node) != nodes.end();
}

void erase(std::vector<NodeId>& nodes, NodeId node) {
  nodes.erase(std::remove(nodes.begin(), nodes.end(), node), nodes.end());
}

// A fresh cluster's first entries add its members, so that servers joining later learn the
// whole configuration by replaying the log (etcd bootstraps the same way).
// They carry the members' addresses too, so that a restarted node learns them from its own
// log rather than from flags that may have changed since.
std::vector<Entry> bootstrap_entries(const ConfState& conf,
                                     const std::map<NodeId, std::string>& addresses) {
  std::vector<Entry> entries;
  Index index = 0;
  for (auto [nodes, kind] : {std::pair{&conf.voters, ConfChange::Kind::add_voter},
                             std::pair{&conf.learners, ConfChange::Kind::add_learner}}) {
    for (NodeId node : *nodes) {
      auto address = addresses.find(node);
      ConfChange change{kind, node, address == addresses.end() ? "" : address->second};
      entries.push_back(Entry{1, ++index, EntryType::conf_change, encode(change)});
    }
  }
  return entries;
}

}  // namespace

Raft::Raft(RaftOptions options, ConfState conf, PersistentState persisted,
           const std::map<NodeId, std::string>& addresses)
    : options_(options), random_(options.random_seed) {
  const bool fresh =
      !persisted.snapshot && persisted.entries.empty() && persisted.hard_state.term == 0;
  if (fresh) {
    // Not yet persisted: the first Ready carries these entries and the hard state.
    auto entries = bootstrap_entries(conf, addresses);
    const Index last = entries.size();
    log_.append(std::move(entries));
    log_.commit_to(last);
    term_ = last == 0 ? 0 : 1;
  } else {
    log_ = RaftLog(persisted);
    term_ = persisted.hard_state.term;
    vote_ = persisted.hard_state.vote;
    last_hard_state_ = hard_state();
  }
  conf_ = persisted.snapshot ? persisted.snapshot->conf : conf;
  snapshot_ = persisted.snapshot;
  rebuild_progress();
  become_follower(term_, 0);
}

bool Raft::is_voter(NodeId node) const {
  return contains(conf_.voters, node);
}
bool Raft::promotable() const {
  return is_voter(options_.id);
}

void Raft::rebuild_progress() {
  for (auto it = progress_.begin(); it != progress_.end();) {
    const bool member = is_voter(it->first) || contains(conf_.learners, it->first);
    it = member ? std::next(it) : progress_.erase(it);
  }
  auto add = [&](NodeId node, bool learner) {
    auto [it, inserted] = progress_.try_emplace(node);
    if (inserted) {
      it->second.next = log_.last_index() + 1;
      it->second.recent_active = node == options_.id;
    }
    it->second.learner = learner;
  };
  for (NodeId node : conf_.voters) add(node, false);
  for (NodeId node : conf_.learners) add(node, true);
}

void Raft::reset_randomized_timeout() {
  std::uniform_int_distribution<int> spread(0, options_.election_ticks - 1);
  randomized_timeout_ = options_.election_ticks + spread(random_);
}

void Raft::reset(Term term) {
  if (term_ != term) {
    term_ = term;
    vote_ = 0;
  }
  leader_ = 0;
  election_elapsed_ = 0;
  heartbeat_elapsed_ = 0;
  reset_randomized_timeout();
  votes_.clear();
  transferee_ = 0;
  pending_reads_.clear();
  read_queue_.clear();
  reads_waiting_for_commit_.clear();
  for (auto& [node, progress] : progress_) {
    const bool learner = progress.learner;
    progress = Progress{};
    progress.learner = learner;
    progress.next = log_.last_index() + 1;
    if (node == options_.id) progress.match = log_.stable();
  }
}

void Raft::become_follower(Term term, NodeId leader) {
  reset(term);
  role_ = Role::follower;
  leader_ = leader;
}

void Raft::become_pre_candidate() {
  // Pre-vote changes neither the term nor the vote: a partitioned node cannot disrupt the
  // cluster by inflating terms (Raft thesis §9.6).
  role_ = Role::pre_candidate;
  votes_.clear();
  leader_ = 0;
}

void Raft::become_candidate() {
  if (term_ >= kMaxTerm) throw std::logic_error("raft: the term space is exhausted");
  reset(term_ + 1);
  vote_ = options_.id;
  role_ = Role::candidate;
}

void Raft::become_leader() {
  reset(term_);
  role_ = Role::leader;
  leader_ = options_.id;
  for (auto& [node, progress] : progress_) progress.recent_active = true;
  // A configuration change from an earlier term may still be uncommitted in our log.
  pending_conf_index_ = log_.last_index();
  // The no-op entry commits the previous terms' entries and enables ReadIndex (§6.4).
  append_own({Entry{}});
  broadcast_append();
}

void Raft::campaign() {
  start_election(options_.pre_vote, false);
}

void Raft::start_election(bool pre_vote, bool transfer) {
  if (!promotable() || term_ >= kMaxTerm) return;
  Term vote_term = 0;
  if (pre_vote) {
    become_pre_candidate();
    vote_term = term_ + 1;
  } else {
    become_candidate();
    vote_term = term_;
  }
  votes_[options_.id] = true;
  if (quorum() == 1) {
    if (pre_vote) {
      start_election(false, transfer);
    } else {
      become_leader();
    }
    return;
  }
  for (NodeId voter : conf_.voters) {
    if (voter == options_.id) continue;
    Message request;
    request.type = pre_vote ? MessageType::pre_vote : MessageType::vote;
    request.to = voter;
    request.term = vote_term;
    request.index = log_.last_index();
    request.log_term = log_.last_term();
    if (transfer) request.context = kTransferContext;
    send(std::move(request));
  }
}

void Raft::send(Message message) {
  message.from = options_.id;
  if (message.term == 0) message.term = term_;
  outbox_.push_back(std::move(message));
}

bool Raft::in_lease() const {
  return options_.check_quorum && leader_ != 0 && election_elapsed_ < options_.election_ticks;
}

void Raft::tick() {
  if (role_ != Role::leader) {
    ++election_elapsed_;
    if (promotable() && election_elapsed_ >= randomized_timeout_) {
      election_elapsed_ = 0;
      start_election(options_.pre_vote, false);
    }
    return;
  }
  ++heartbeat_elapsed_;
  ++election_elapsed_;
  if (election_elapsed_ >= options_.election_ticks) {
    election_elapsed_ = 0;
    // Check-quorum: a leader that has not heard from a majority for an election timeout
    // steps down, which is also what makes the followers' vote lease safe.
    if (options_.check_quorum && !quorum_active()) {
      become_follower(term_, 0);
      return;
    }
    transferee_ = 0;  // a transfer that has not finished in an election timeout is abandoned
  }
  if (heartbeat_elapsed_ >= options_.heartbeat_ticks) {
    heartbeat_elapsed_ = 0;
    broadcast_heartbeat("");
  }
}

bool Raft::quorum_active() {
  std::size_t active = 0;
  for (auto& [node, progress] : progress_) {
    if (node == options_.id) {
      progress.recent_active = true;
    }
    if (!progress.learner && is_voter(node) && progress.recent_active) ++active;
    if (node != options_.id) progress.recent_active = false;
  }
  return active >= quorum();
}

void Raft::step(const Message& message) {
  // Terms only grow, and one near the top of the range could only come from a forger or a
  // corrupted peer: taking it would make the next election wrap the term to 0.
  if (message.term > kMaxTerm) return;
  if (message.term > term_) {
    const bool vote_request =
        message.type == MessageType::vote || message.type == MessageType::pre_vote;
    if (vote_request && message.context != kTransferContext && in_lease()) {
      return;  // we heard from a leader recently: this candidate would only disrupt it
    }
    const bool keeps_term = message.type == MessageType::pre_vote ||
                            (message.type == MessageType::pre_vote_response && !message.reject);
    if (!keeps_term) {
      const bool from_leader = message.type == MessageType::append ||
                               message.type == MessageType::heartbeat ||
                               message.type == MessageType::snapshot;
      become_follower(message.term, from_leader ? message.from : 0);
    }
  } else if (message.term < term_) {
    if ((options_.check_quorum || options_.pre_vote) &&
        (message.type == MessageType::append || message.type == MessageType::heartbeat)) {
      // Tell a stale leader about the newer term so it steps down.
      Message reply;
      reply.type = MessageType::append_response;
      reply.to = message.from;
      send(std::move(reply));
    } else if (message.type == MessageType::pre_vote) {
      Message reply;
      reply.type = MessageType::pre_vote_response;
      reply.to = message.from;
      reply.reject = true;
      send(std::move(reply));
    }
    return;
  }

  if (message.type == MessageType::vote || message.type == MessageType::pre_vote) {
    handle_vote_request(message);
    return;
  }
  switch (role_) {
    case Role::leader:
      step_leader(message);
      break;
    case Role::pre_candidate:
    case Role::candidate:
      step_candidate(message);
      break;
    case Role::follower:
      step_follower(message);
      break;
  }
}

void Raft::handle_vote_request(const Message& message) {
  const bool pre = message.type == MessageType::pre_vote;
  const bool can_vote =
      vote_ == message.from || (vote_ == 0 && leader_ == 0) || (pre && message.term > term_);
  Message reply;
  reply.type = pre ? MessageType::pre_vote_response : MessageType::vote_response;
  reply.to = message.from;
  if (can_vote && log_.up_to_date(message.index, message.log_term)) {
    // A granted pre-vote answers in the term the candidate would campaign at.
    reply.term = message.term;
    if (!pre) {
      election_elapsed_ = 0;
      vote_ = message.from;
    }
  } else {
    reply.term = term_;
    reply.reject = true;
  }
  send(std::move(reply));
}

void Raft::step_follower(const Message& message) {
  switch (message.type) {
    case MessageType::append:
      election_elapsed_ = 0;
      leader_ = message.from;
      handle_append(message);
      break;
    case MessageType::heartbeat:
      election_elapsed_ = 0;
      leader_ = message.from;
      handle_heartbeat(message);
      break;
    case MessageType::snapshot:
      election_elapsed_ = 0;
      leader_ = message.from;
      handle_snapshot(message);
      break;
    case MessageType::timeout_now:
      start_election(false, true);
      break;
    case MessageType::read_index_response:
      reads_.push_back({message.index, message.context});
      break;
    default:
      break;
  }
}

void Raft::step_candidate(const Message& message) {
  switch (message.type) {
    case MessageType::append:
    case MessageType::heartbeat:
    case MessageType::snapshot:
      become_follower(message.term, message.from);
      step_follower(message);
      return;
    case MessageType::pre_vote_response:
    case MessageType::vote_response: {
      const bool expected =
          (role_ == Role::pre_candidate) == (message.type == MessageType::pre_vote_response);
      if (!expected) return;
      votes_[message.from] = !message.reject;
      std::size_t granted = 0;
      std::size_t rejected = 0;
      for (const auto& [node, vote] : votes_) {
        if (!is_voter(node)) continue;
        (vote ? granted : rejected)++;
      }
      if (granted >= quorum()) {
        if (role_ == Role::pre_candidate) {
          start_election(false, false);
        } else {
          become_leader();
        }
      } else if (rejected >= quorum()) {
        become_follower(term_, 0);
      }
      return;
    }
    default:
      return;
  }
}

void Raft::step_leader(const Message& message) {
  switch (message.type) {
    case MessageType::append_response:
      handle_append_response(message);
      break;
    case MessageType::heartbeat_response:
      handle_heartbeat_response(message);
      break;
    case MessageType::read_index:
      handle_leader_read_index(message);
      break;
    default:
      break;
  }
}

void Raft::handle_append(const Message& message) {
  Message reply;
  reply.type = MessageType::append_response;
  reply.to = message.from;
  if (message.index < log_.committed()) {
    reply.index = log_.committed();
    send(std::move(reply));
    return;
  }
  if (auto matched = log_.maybe_append(message.index, message.log_term, message.entries)) {
    log_.commit_to(std::min(message.commit, *matched));
    reply.index = *matched;
  } else {
    reply.reject = true;
    reply.index = message.index;
    reply.reject_hint = log_.last_index();
  }
  send(std::move(reply));
}

void Raft::handle_heartbeat(const Message& message) {
  // The leader never sends a commit index beyond what it knows we match.
  log_.commit_to(std::min(message.commit, log_.last_index()));
  Message reply;
  reply.type = MessageType::heartbeat_response;
  reply.to = message.from;
  reply.context = message.context;
  send(std::move(reply));
}

void Raft::handle_snapshot(const Message& message) {
  const Snapshot& snapshot = *message.snapshot;
  Message reply;
  reply.type = MessageType::append_response;
  reply.to = message.from;
  if (snapshot.index <= log_.committed()) {
    reply.index = log_.committed();
  } else if (log_.matches(snapshot.index, snapshot.term)) {
    // Our entries after the snapshot are unverified: the snapshot vouches only for what it
    // covers, so answer with the commit index, as etcd does, never with our last index.
    log_.commit_to(snapshot.index);
    reply.index = log_.committed();
  } else {
    log_.restore(snapshot);
    conf_ = snapshot.conf;
    rebuild_progress();
    snapshot_ = snapshot;
    snapshot_to_install_ = snapshot;
    reply.index = log_.last_index();
  }
  send(std::move(reply));
}

void Raft::handle_append_response(const Message& message) {
  auto found = progress_.find(message.from);
  if (found == progress_.end()) return;
  Progress& progress = found->second;
  progress.recent_active = true;
  // A follower cannot hold more of this term's log than the leader wrote: a larger claim is
  // a bug or a forgery, and counting it towards commit would commit unverified entries.
  if (!message.reject && message.index > log_.last_index()) return;
  if (message.reject) {
    if (progress.decrease(message.index, message.reject_hint)) {
      if (progress.state == Progress::State::replicate) progress.become_probe();
      send_append(message.from, true);
    }
    return;
  }
  const bool was_paused = progress.paused(options_.max_inflight_messages);
  if (!progress.update(message.index)) return;
  if (progress.state == Progress::State::probe) {
    progress.become_replicate();
  } else if (progress.state == Progress::State::snapshot &&
             progress.match >= progress.pending_snapshot) {
    progress.become_probe();
  }
  const bool committed = maybe_commit();
  if (committed && options_.announce_commit_at_once) {
    broadcast_append();
  } else if (was_paused) {
    send_append(message.from, false);
  }
  // Keep the pipeline full while the window allows.
  while (!progress.paused(options_.max_inflight_messages) && progress.next <= log_.last_index() &&
         progress.state == Progress::State::replicate) {
    const auto before = progress.next;
    send_append(message.from, false);
    if (progress.next == before) break;
  }
  if (message.from == transferee_ && progress.match == log_.last_index()) {
    Message now;
    now.type = MessageType::timeout_now;
    now.to = message.from;
    send(std::move(now));
  }
}

void Raft::handle_heartbeat_response(const Message& message) {
  auto found = progress_.find(message.from);
  if (found == progress_.end()) return;
  Progress& progress = found->second;
  progress.recent_active = true;
  progress.probe_sent = false;
  if (progress.state == Progress::State::replicate &&
      progress.inflight.size() >= options_.max_inflight_messages) {
    progress.inflight.pop_front();  // free a slot so a lost append cannot stall us forever
  }
  if (progress.state == Progress::State::snapshot) {
    // The snapshot was lost or is slow; after an election timeout, probe (and resend).
    if (++progress.snapshot_wait >= options_.election_ticks) progress.become_probe();
  }
  if (progress.match < log_.last_index()) send_append(message.from, true);
  if (options_.read_only == ReadOnlyMode::safe && !message.context.empty()) {
    auto pending = pending_reads_.find(message.context);
    if (pending != pending_reads_.end() && is_voter(message.from)) {
      pending->second.acks.insert(message.from);
      release_reads(message.context);
    }
  }
}

void Raft::release_reads(const std::string& context) {
  auto pending = pending_reads_.find(context);
  if (pending == pending_reads_.end() || pending->second.acks.size() < quorum()) return;
  // A quorum confirmed us as leader after every earlier request too: answer them all.
  while (!read_queue_.empty()) {
    const std::string done = read_queue_.front();
    read_queue_.erase(read_queue_.begin());
    auto request = pending_reads_.find(done);
    if (request != pending_reads_.end()) {
      answer_read(request->second.from, request->second.index, done);
      pending_reads_.erase(request);
    }
    if (done == context) break;
  }
}

void Raft::answer_read(NodeId from, Index index, std::string context) {
  if (from == options_.id) {
    reads_.push_back({index, std::move(context)});
    return;
  }
  // The follower serves the read once it has applied `index`: tell it the commit first (a
  // safe read's heartbeat round has already; a lease-based answer comes without one).
  if (commit_unannounced() && progress_.contains(from)) send_append(from, true);
  Message reply;
  reply.type = MessageType::read_index_response;
  reply.to = from;
  reply.index = index;
  reply.context = std::move(context);
  send(std::move(reply));
}

bool Raft::committed_in_current_term() const {
  auto term = log_.term(log_.committed());
  return term && *term == term_;
}

void Raft::handle_leader_read_index(const Message& message) {
  if (quorum() == 1) {
    answer_read(message.from, log_.committed(), message.context);
    return;
  }
  if (!committed_in_current_term()) {
    // Until our no-op commits we do not know the commit index of the previous terms.
    reads_waiting_for_commit_.emplace_back(message.context, message.from);
    return;
  }
  if (options_.read_only == ReadOnlyMode::lease_based) {
    answer_read(message.from, log_.committed(), message.context);
    return;
  }
  if (pending_reads_.count(message.context) > 0) return;
  pending_reads_[message.context] = PendingRead{log_.committed(), message.from, {options_.id}};
  read_queue_.push_back(message.context);
  broadcast_heartbeat(message.context);
}

bool Raft::read_index(std::string context) {
  Message request;
  request.type = MessageType::read_index;
  request.from = options_.id;
  request.context = std::move(context);
  if (role_ == Role::leader) {
    handle_leader_read_index(request);
    return true;
  }
  if (leader_ == 0) return false;
  request.to = leader_;
  send(std::move(request));
  return true;
}

void Raft::send_append(NodeId to, bool allow_empty) {
  Progress& progress = progress_.at(to);
  if (progress.paused(options_.max_inflight_messages)) return;
  const Index prev = progress.next - 1;
  const auto prev_term = log_.term(prev);
  if (!prev_term) {
    // The entries the follower needs were compacted away: send the snapshot instead.
    if (!snapshot_) return;
    Message message;
    message.type = MessageType::snapshot;
    message.to = to;
    message.snapshot = snapshot_;
    progress.become_snapshot(snapshot_->index);
    progress.snapshot_wait = 0;
    send(std::move(message));
    return;
  }
  auto entries =
      log_.slice(progress.next, options_.max_entries_per_message, options_.max_bytes_per_message);
  if (entries.empty() && !allow_empty) return;
  Message message;
  message.type = MessageType::append;
  message.to = to;
  message.index = prev;
  message.log_term = *prev_term;
  message.commit = log_.committed();
  if (!entries.empty()) {
    const Index last = entries.back().index;
    if (progress.state == Progress::State::replicate) {
      progress.next = last + 1;
      progress.inflight.push_back(last);
    }
  }
  if (progress.state == Progress::State::probe) progress.probe_sent = true;
  message.entries = std::move(entries);
  send(std::move(message));
}

void Raft::broadcast_append() {
  for (const auto& [node, progress] : progress_) {
    if (node != options_.id) send_append(node, true);
  }
  // Followers paused now learn it from their next append or heartbeat.
  announced_commit_ = log_.committed();
}

void Raft::commit_advanced() {
  if (options_.announce_commit_at_once) broadcast_append();
}

bool Raft::commit_unannounced() const {
  return role_ == Role::leader && log_.committed() > announced_commit_;
}

void Raft::announce_commit() {
  if (commit_unannounced()) broadcast_append();
}

void Raft::broadcast_heartbeat(const std::string& context) {
  for (const auto& [node, progress] : progress_) {
    if (node == options_.id) continue;
    Message heartbeat;
    heartbeat.type = MessageType::heartbeat;
    heartbeat.to = node;
    heartbeat.commit = std::min(progress.match, log_.committed());
    heartbeat.context = context;
    send(std::move(heartbeat));
  }
}

Index Raft::quorum_match() const {
  std::vector<Index> matches;
  for (const auto& [node, progress] : progress_) {
    if (is_voter(node)) matches.push_back(progress.match);
  }
  if (matches.empty()) return 0;
  std::sort(matches.begin(), matches.end(), std::greater<>());
  return matches[quorum() - 1];
}

bool Raft::maybe_commit() {
  const Index candidate = quorum_match();
  // §5.4.2: only entries of the current term are committed by counting replicas.
  if (candidate <= log_.committed() || log_.term(candidate) != term_) return false;
  log_.commit_to(candidate);
  auto waiting = std::move(reads_waiting_for_commit_);
  reads_waiting_for_commit_.clear();
  for (auto& [context, from] : waiting) {
    Message request;
    request.type = MessageType::read_index;
    request.from = from;
    request.context = std::move(context);
    handle_leader_read_index(request);
  }
  return true;
}

void Raft::append_own(std::vector<Entry> entries) {
  Index index = log_.last_index();
  for (auto& entry : entries) {
    entry.term = term_;
    entry.index = ++index;
  }
  log_.append(std::move(entries));
}

ProposeError Raft::propose(std::string data) {
  if (role_ != Role::leader) return ProposeError::not_leader;
  if (transferee_ != 0) return ProposeError::transferring;
  if (!promotable()) return ProposeError::removed;
  append_own({Entry{0, 0, EntryType::normal, std::move(data)}});
  broadcast_append();
  return ProposeError::none;
}

ProposeError Raft::propose_conf_change(const ConfChange& change) {
  if (role_ != Role::leader) return ProposeError::not_leader;
  if (transferee_ != 0) return ProposeError::transferring;
  if (pending_conf_index_ > log_.applied()) return ProposeError::conf_change_pending;
  append_own({Entry{0, 0, EntryType::conf_change, encode(change)}});
  pending_conf_index_ = log_.last_index();
  broadcast_append();
  return ProposeError::none;
}

ConfState Raft::apply_conf_change(const ConfChange& change) {
  switch (change.kind) {
    case ConfChange::Kind::add_voter:
      erase(conf_.learners, change.node);
      if (!is_voter(change.node)) conf_.voters.push_back(change.node);
      break;
    case ConfChange::Kind::add_learner:
      if (!is_voter(change.node) && !contains(conf_.learners, change.node)) {
        conf_.learners.push_back(change.node);
      }
      break;
    case ConfChange::Kind::remove:
      erase(conf_.voters, change.node);
      erase(conf_.learners, change.node);
      break;
  }
  rebuild_progress();
  if (change.node == transferee_ && change.kind == ConfChange::Kind::remove) transferee_ = 0;
  if (role_ == Role::leader) {
    if (!promotable()) {
      become_follower(term_, 0);
    } else if (maybe_commit()) {
      commit_advanced();
    }
  }
  return conf_;
}

void Raft::transfer_leadership(NodeId target) {
  if (role_ != Role::leader || target == options_.id || !is_voter(target)) return;
  if (transferee_ == target) return;
  transferee_ = target;
  election_elapsed_ = 0;
  if (progress_.at(target).match == log_.last_index()) {
    Message now;
    now.type = MessageType::timeout_now;
    now.to = target;
    send(std::move(now));
  } else {
    send_append(target, true);
  }
}

void Raft::compact(Index index, std::string data) {
  if (index != log_.applied()) {
    throw std::logic_error("raft: snapshots are taken at the applied index " +
                           std::to_string(log_.applied()));
  }
  if (index <= log_.snapshot_index()) return;
  const Term term = *log_.term(index);
  log_.compact(index);
  snapshot_ = Snapshot{index, term, conf_, std::move(data)};
}

void Raft::report_unreachable(NodeId node) {
  if (role_ != Role::leader) return;
  auto found = progress_.find(node);
  if (found != progress_.end() && found->second.state == Progress::State::replicate) {
    found->second.become_probe();
  }
}

bool Raft::has_ready() const {
  return !outbox_.empty() || !reads_.empty() || snapshot_to_install_ ||
         hard_state() != last_hard_state_ || log_.stable() < log_.last_index() ||
         log_.has_applicable();
}

Ready Raft::ready() {
  Ready ready;
  ready.role = role_;
  ready.leader = leader_;
  if (hard_state() != last_hard_state_) ready.hard_state = hard_state();
  ready.snapshot = snapshot_to_install_;
  ready.entries = log_.unstable();
  ready.messages = std::move(outbox_);
  outbox_.clear();
  ready.committed = log_.applicable();
  ready.reads = std::move(reads_);
  reads_.clear();
  return ready;
}

void Raft::advance(const Ready& ready) {
  if (ready.hard_state) last_hard_state_ = *ready.hard_state;
  snapshot_to_install_.reset();
  if (!ready.entries.empty()) {
    const auto& last = ready.entries.back();
    // Only if the log did not change under us since ready() (it must not, by contract).
    if (log_.matches(last.index, last.term)) log_.stable_to(last.index);
  }
  if (!ready.committed.empty()) log_.applied_to(ready.committed.back().index);
  if (role_ == Role::leader) {
    auto& self = progress_.at(options_.id);
    if (self.update(log_.stable()) && maybe_commit()) commit_advanced();
  }
}

}  // namespace isla::consensus
