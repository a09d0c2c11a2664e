#include "balancer/pair/pair_node.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>

namespace isla::balancer::pair {

using election::Candidate;
using election::ElectionMessage;
using election::MessageKind;
using election::Term;

PairNode::PairNode(PairOptions options, ServiceAddress& address, TermFile& terms,
                   const core::Clock& clock, WallClock wall_clock, Send send, AddressLease* lease,
                   PairEvents events)
    : options_(std::move(options)),
      address_(address),
      terms_(terms),
      clock_(clock),
      wall_clock_(std::move(wall_clock)),
      send_(std::move(send)),
      lease_(lease),
      events_(std::move(events)),
      self_{options_.heartbeat.str(), options_.priority},
      peer_id_(options_.peer.str()),
      replay_(options_.replay) {
  elector_ = std::make_unique<election::BullyElector>(elector_options(0));
}

PairNode::~PairNode() {
  *alive_ = false;
}

election::BullyOptions PairNode::elector_options(Term initial_term) const {
  election::BullyOptions bully;
  bully.self = self_;
  bully.liveness.heartbeat_interval = options_.heartbeat_interval;
  bully.liveness.missed_heartbeats = options_.missed_heartbeats;
  bully.initial_term = initial_term;
  bully.answer_timeout = options_.answer_timeout;
  bully.coordinator_timeout = options_.coordinator_timeout;
  return bully;
}

void PairNode::start() {
  if (started_) return;
  const auto loaded = terms_.load();
  term_file_problem_ = loaded.problem;
  if (!loaded.problem.empty())
    spdlog::warn("event=pair_term_file_unreadable detail=\"{}\"", loaded.problem);
  elector_ = std::make_unique<election::BullyElector>(elector_options(loaded.term));
  incarnation_ = wall_clock_();
  // A crash may have left the address on this host: nobody may hold it before an election.
  address_.release();
  const auto now = clock_.now();
  started_ = true;
  peer_alive_ = true;  // presumed until the peer timeout passes without a word
  peer_heard_ = now;
  next_beat_ = now;
  const Candidate peer{peer_id_, 0};
  deliver(elector_->set_members({self_, peer}, now));
  deliver(elector_->start(now));
  spdlog::info("event=pair_started self={} peer={} priority={} initial_round={}", self_.id,
               peer_id_, self_.priority, election::round_of(loaded.term));
  reconcile();
}

void PairNode::stop() {
  if (!started_ || stopped_) return;
  if (holds_) release_address("stopping");
  if (lease_ && lease_state_ != LeaseState::off) lease_->release();
  lease_state_ = LeaseState::off;
  stopped_ = true;
  Heartbeat beat;
  beat.leaving = true;
  beat.node = self_.id;
  beat.priority = self_.priority;
  beat.incarnation = incarnation_;
  beat.seq = ++seq_;
  beat.ts = wall_clock_();
  beat.term = elector_->term();
  send_(encode(beat, options_.secret));
  ++counters_.beats_sent;
  set_role(PairRole::standby);
}

void PairNode::drop(const std::string& reason) {
  ++counters_.dropped[reason];
  spdlog::debug("event=pair_datagram_dropped reason={}", reason);
}

void PairNode::on_datagram(std::string_view bytes) {
  if (!started_ || stopped_) return;
  auto decoded = decode(bytes, options_.secret);
  if (!decoded.beat) return drop(decoded.rejection);
  auto& beat = *decoded.beat;
  if (beat.node != peer_id_) return drop("unknown_sender");
  const auto verdict = replay_.check(beat.node, beat.incarnation, beat.seq, beat.ts, wall_clock_());
  if (verdict != membership::ReplayVerdict::fresh) return drop(membership::to_string(verdict));
  ++counters_.beats_received;

  const auto now = clock_.now();
  peer_heard_ = now;
  heard_peer_ever_ = true;
  peer_term_ = beat.term;
  peer_holds_ = beat.holds;
  if (beat.leaving) {
    if (peer_alive_) {
      peer_alive_ = false;
      spdlog::info("event=pair_peer_leaving peer={}", peer_id_);
      deliver(elector_->set_members({self_}, now));
    }
    return reconcile();
  }
  if (!peer_alive_) {
    peer_alive_ = true;
    spdlog::info("event=pair_peer_alive peer={} peer_round={}", peer_id_,
                 election::round_of(beat.term));
    const Candidate peer{peer_id_, beat.priority};
    deliver(elector_->set_members({self_, peer}, now));
  }
  for (const auto& message : beat.messages) deliver(elector_->on_message(message, now));
  reconcile();
}

void PairNode::update_peer_liveness(core::SteadyTime now) {
  if (!peer_alive_ || now - peer_heard_ < options_.peer_timeout) return;
  peer_alive_ = false;
  spdlog::info("event=pair_peer_silent peer={} silent_ms={}", peer_id_,
               core::millis_between(peer_heard_, now));
  deliver(elector_->set_members({self_}, now));
}

void PairNode::tick() {
  if (!started_ || stopped_) return;
  const auto now = clock_.now();
  update_peer_liveness(now);
  deliver(elector_->tick(now));
  if (lease_ && elector_->is_leader() && !lease_in_flight_ && now >= next_lease_ask_ &&
      (holds_ || peer_let_go())) {
    ask_lease(elector_->term());
  }
  if (lease_ && !store_reachable_ && !elector_->is_leader()) probe_store(now);
  reconcile();
}

void PairNode::deliver(std::vector<election::Outgoing> out) {
  for (auto& item : out) {
    if (item.to == peer_id_) pending_.push_back(std::move(item.message));
  }
}

bool PairNode::peer_let_go() const {
  return !peer_alive_ || (peer_term_ >= elector_->term() && !peer_holds_);
}

bool PairNode::persist_term(Term term) {
  try {
    terms_.store(term);
    persist_failed_ = false;
    return true;
  } catch (const std::exception& error) {
    if (!persist_failed_) {
      spdlog::error("event=pair_term_not_kept path={} error=\"{}\"", terms_.path().string(),
                    error.what());
    }
    persist_failed_ = true;
    return false;
  }
}

void PairNode::reconcile() {
  const auto now = clock_.now();
  const bool leader = elector_->is_leader();
  const Term term = elector_->term();

  // 1. Fencing first: nothing is sent and nothing else is done while holding the address
  //    for a term that is no longer ours.
  if (holds_) {
    if (!leader) {
      release_address("another leads");
    } else if (term != held_term_) {
      release_address("higher term");
    } else if (lease_ && lease_state_ == LeaseState::lost) {
      release_address("store lease lost");
    } else if (lease_ && now - lease_confirmed_ > lease_->ttl()) {
      release_address("store lease lapsed");
    }
  }
  if (lease_ && lease_state_ == LeaseState::held && now - lease_confirmed_ > lease_->ttl()) {
    lease_state_ = LeaseState::unavailable;  // the store may have given it to another by now
  }
  if (!leader && lease_ && lease_state_ != LeaseState::off) {
    lease_->release();
    lease_state_ = LeaseState::off;
    lease_term_ = 0;
  }
  if (leader && lease_) step_aside_if_store_silent(now);

  // 2. What the elector has to say, with this node's state as it now is. The term goes to
  //    disk first (usually it is there already: see step 5).
  const bool durable = persist_term(term);
  flush(now);

  // 3. Take over when it is safe: the peer has let go (or is dead), the term is on disk,
  //    and the store lease, if any, is ours for this term.
  if (leader && !holds_ && durable && peer_let_go()) {
    if (!lease_) {
      claim_address();
    } else if (lease_state_ == LeaseState::held && lease_term_ == term) {
      claim_address();
    } else if (!lease_in_flight_ && (lease_term_ != term || now >= next_lease_ask_)) {
      ask_lease(term);
    }
    if (holds_) flush(now, /*force=*/true);
  }

  // 5. The term this node would lead next, on disk ahead of time: a takeover then waits for
  //    no fsync. On restart the node starts above it all the same.
  persist_term(election::first_term_after(term, self_.id));

  // 6. The role as the balancer sees it.
  PairRole role = PairRole::starting;
  if (holds_) {
    role = PairRole::active;
  } else if (leader) {
    role = PairRole::taking_over;
  } else if (elector_->leader() || heard_peer_ever_ || !peer_alive_) {
    role = PairRole::standby;
  }
  set_role(role);
}

void PairNode::flush(core::SteadyTime now, bool force) {
  if (!force && pending_.empty() && now < next_beat_) return;
  next_beat_ = now + options_.beat_interval();
  auto messages = std::exchange(pending_, {});
  if (elector_->is_leader()) {
    ElectionMessage heartbeat;
    heartbeat.kind = MessageKind::heartbeat;
    heartbeat.from = self_;
    heartbeat.term = elector_->term();
    messages.push_back(std::move(heartbeat));
  }
  std::size_t sent = 0;
  do {
    const auto count = std::min(kMaxMessagesPerBeat, messages.size() - sent);
    Heartbeat beat;
    beat.node = self_.id;
    beat.priority = self_.priority;
    beat.incarnation = incarnation_;
    beat.seq = ++seq_;
    beat.ts = wall_clock_();
    beat.term = elector_->term();
    beat.holds = holds_;
    beat.messages.assign(messages.begin() + static_cast<std::ptrdiff_t>(sent),
                         messages.begin() + static_cast<std::ptrdiff_t>(sent + count));
    sent += count;
    send_(encode(beat, options_.secret));
    ++counters_.beats_sent;
  } while (sent < messages.size());
}

void PairNode::release_address(const char* why) {
  address_.release();
  holds_ = false;
  ++counters_.releases;
  spdlog::info("event=pair_address_released address=\"{}\" round={} why=\"{}\"",
               address_.describe(), election::round_of(held_term_), why);
  held_term_ = 0;
}

void PairNode::claim_address() {
  const Term term = elector_->term();
  if (!address_.claim(term)) return;  // retried at the next tick
  holds_ = true;
  held_term_ = term;
  ++counters_.takeovers;
  spdlog::info("event=pair_address_claimed address=\"{}\" round={} term={}", address_.describe(),
               election::round_of(term), term);
}

void PairNode::ask_lease(Term term) {
  const auto now = clock_.now();
  if (lease_term_ != term) {
    lease_term_ = term;
    lease_state_ = LeaseState::pending;
    // A new leader gives the store a whole TTL to answer before it steps aside.
    if (store_reachable_) store_answered_ = now;
  }
  lease_in_flight_ = true;
  next_lease_ask_ = now + options_.lease_renew_interval;
  std::weak_ptr<bool> alive = alive_;
  lease_->hold(term, [this, alive, term](LeaseVerdict verdict) {
    if (auto still = alive.lock(); still && *still) on_lease(term, verdict);
  });
}

void PairNode::on_lease(Term term, LeaseVerdict verdict) {
  lease_in_flight_ = false;
  if (stopped_) return;
  if (!elector_->is_leader() || term != elector_->term()) {
    // An answer for a term this node no longer leads: what it took, it gives back.
    if (verdict == LeaseVerdict::held && !elector_->is_leader()) lease_->release();
    return reconcile();
  }
  const auto now = clock_.now();
  switch (verdict) {
    case LeaseVerdict::held:
      lease_state_ = LeaseState::held;
      lease_confirmed_ = now;
      break;
    case LeaseVerdict::lost:
      if (lease_state_ != LeaseState::lost) {
        spdlog::warn("event=pair_lease_lost round={} term={}", election::round_of(term), term);
      }
      lease_state_ = LeaseState::lost;
      break;
    case LeaseVerdict::unavailable:
      // Keep what we have until the store's own lease would have lapsed (checked in reconcile).
      if (lease_state_ != LeaseState::held) lease_state_ = LeaseState::unavailable;
      lease_unavailable_ = true;
      break;
  }
  if (verdict != LeaseVerdict::unavailable) {
    lease_unavailable_ = false;
    store_answered(now);
  }
  reconcile();
}

void PairNode::step_aside_if_store_silent(core::SteadyTime now) {
  if (!store_reachable_ || !lease_unavailable_ || now - store_answered_ <= lease_->ttl()) return;
  store_reachable_ = false;
  reachable_since_.reset();
  spdlog::warn(
      "event=pair_store_unreachable silent_ms={} action=\"stepping aside: priority 0 until the "
      "store answers again, so that a peer that reaches it can serve\"",
      core::millis_between(store_answered_, now));
  announce_priority(0);
}

void PairNode::probe_store(core::SteadyTime now) {
  if (probe_in_flight_ || now < next_probe_) return;
  probe_in_flight_ = true;
  next_probe_ = now + options_.lease_renew_interval;
  std::weak_ptr<bool> alive = alive_;
  lease_->probe([this, alive](bool reachable) {
    if (auto still = alive.lock(); still && *still) on_probe(reachable);
  });
}

void PairNode::on_probe(bool reachable) {
  probe_in_flight_ = false;
  if (stopped_ || store_reachable_) return;
  const auto now = clock_.now();
  if (!reachable) {
    reachable_since_.reset();
    return;
  }
  if (!reachable_since_) reachable_since_ = now;
  // One lucky answer on a flapping link is not enough to take the address back for.
  if (now - *reachable_since_ >= lease_->ttl()) store_answered(now);
  reconcile();
}

void PairNode::store_answered(core::SteadyTime now) {
  store_answered_ = now;
  if (store_reachable_) return;
  store_reachable_ = true;
  reachable_since_.reset();
  spdlog::info("event=pair_store_reachable priority={}", options_.priority);
  announce_priority(options_.priority);
}

void PairNode::announce_priority(std::uint32_t priority) {
  self_.priority = priority;
  deliver(elector_->set_priority(priority, clock_.now()));
}

void PairNode::set_role(PairRole role) {
  const Term term = elector_->term();
  const auto leader = elector_->leader();
  const bool role_changed = role != role_;
  if (role_changed) {
    last_change_ms_ = static_cast<std::int64_t>(wall_clock_());
    spdlog::info("event=pair_role role={} round={} leader={}", to_string(role),
                 election::round_of(term), leader.value_or("-"));
  }
  const bool news = role_changed || term != announced_term_ || leader != announced_leader_;
  role_ = role;
  announced_term_ = term;
  announced_leader_ = leader;
  if (!news) return;
  if (role == PairRole::active) {
    if (events_.on_active) events_.on_active(term);
  } else if (role != PairRole::starting) {
    if (events_.on_standby) events_.on_standby(term, leader);
  }
}

PairStatus PairNode::status() const {
  PairStatus status = counters_;
  status.self = self_.id;
  status.peer = peer_id_;
  status.priority = options_.priority;
  status.announced_priority = self_.priority;
  if (lease_) status.store_reachable = store_reachable_;
  status.role = role_;
  status.term = elector_->term();
  status.term_round = election::round_of(status.term);
  status.leader = elector_->leader();
  status.holds_address = holds_;
  status.address = address_.describe();
  status.peer_alive = started_ && peer_alive_ && heard_peer_ever_;
  if (heard_peer_ever_) status.peer_heard_ms_ago = core::millis_between(peer_heard_, clock_.now());
  if (heard_peer_ever_) status.peer_holds = peer_holds_;
  if (!lease_) {
    status.lease = "off";
  } else if (lease_unavailable_ && lease_state_ == LeaseState::held) {
    // Held as far as we know, but the store did not answer the last renewal.
    status.lease = "unavailable";
  } else {
    // Indexed by LeaseState; `off` with a lease configured means none is wanted now.
    static constexpr const char* kNames[] = {"none", "pending", "held", "lost", "unavailable"};
    status.lease = kNames[static_cast<int>(lease_state_)];
  }
  status.last_change_ms = last_change_ms_;
  status.term_file_problem = term_file_problem_;
  return status;
}

}  // namespace isla::balancer::pair
