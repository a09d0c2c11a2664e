#include "membership/swim.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <utility>

#include "core/endpoint.hpp"

namespace isla::membership {

namespace {

bool departed(MemberState state) {
  return state == MemberState::dead || state == MemberState::left;
}

// SWIM's probe, ack and gossip datagrams; hello and welcome belong to piece servers.
bool spoken_by_swim(DatagramType type) {
  return type != DatagramType::hello && type != DatagramType::welcome;
}

}  // namespace

Swim::Swim(std::string self_address, std::uint64_t incarnation, SwimOptions options,
           core::Random& random)
    : self_(std::move(self_address)),
      incarnation_(incarnation),
      options_(options),
      random_(random),
      schedule_(random),
      gossip_(options.max_members + 1),
      health_(options.max_local_health),
      // Probe ids from a random start, so that an ack meant for our previous run is not taken
      // for an answer to this one.
      next_probe_id_(random.next() | 1),
      join_backoff_(options.join_backoff, random) {}

void Swim::add_seed(const std::string& address) {
  if (address == self_) return;
  configured_seeds_.insert(address);
  if (!members_.contains(address)) unjoined_seeds_.insert(address);
}

// ---------------------------------------------------------------------------------------------
// Incoming

std::vector<Outgoing> Swim::on_datagram(const Datagram& datagram, core::SteadyTime now) {
  if (left_ || datagram.node == self_ || !spoken_by_swim(datagram.type)) return {};
  hear_from(datagram, now);
  for (const auto& entry : datagram.gossip) apply(entry, now);
  switch (datagram.type) {
    case DatagramType::ping:
      on_ping(datagram);
      break;
    case DatagramType::ping_req:
      on_ping_req(datagram, now);
      break;
    case DatagramType::ack:
      on_ack(datagram);
      break;
    case DatagramType::nack:
      on_nack(datagram);
      break;
    default:
      break;
  }
  return take_outgoing();
}

// The sender's own header is the freshest news about it: it is alive at that incarnation,
// under that load; unless it is saying bye.
void Swim::hear_from(const Datagram& datagram, core::SteadyTime now) {
  if (datagram.type == DatagramType::bye) {
    bury(datagram.node, datagram.incarnation, MemberState::left, now);
    return;
  }
  const bool known_live = is_live(datagram.node);
  const bool revived = accept_alive(datagram.node, datagram.incarnation, datagram.load, now);
  auto it = members_.find(datagram.node);
  if (it == members_.end()) return;  // no room for it
  auto& member = it->second.member;
  member.last_contact = now;
  if (datagram.incarnation == member.incarnation && !departed(member.state)) {
    member.load = datagram.load;
    member.draining = datagram.draining;
  }
  if (revived && !known_live) push_members_to(datagram.node);
}

void Swim::apply(const GossipEntry& entry, core::SteadyTime now) {
  if (entry.node == self_) return apply_about_self(entry);
  switch (entry.state) {
    case MemberState::alive:
      accept_alive(entry.node, entry.incarnation, entry.load, now);
      break;
    case MemberState::suspect:
      suspect(entry.node, entry.incarnation, entry.from, now);
      break;
    case MemberState::dead:
    case MemberState::left:
      bury(entry.node, entry.incarnation, entry.state, now);
      break;
  }
}

// Nobody but us decides that we are gone: whatever says so at our current incarnation (or a
// later one, which only we may make) is refuted with a higher one.
void Swim::apply_about_self(const GossipEntry& entry) {
  if (entry.incarnation < incarnation_) return;
  if (entry.state == MemberState::alive && entry.incarnation == incarnation_) return;
  refute(entry.incarnation);
}

void Swim::on_ping(const Datagram& ping) {
  auto ack = datagram(DatagramType::ack);
  ack.probe = ping.probe;
  send_with_gossip(ping.node, std::move(ack));
}

void Swim::on_ping_req(const Datagram& request, core::SteadyTime now) {
  if (request.target == self_ || request.target == request.node) return;
  auto target = members_.find(request.target);
  if (target == members_.end() || target->second.member.state == MemberState::left) {
    // We cannot probe a member we do not know; the nack still tells the requester that we,
    // at least, are reachable.
    auto nack = datagram(DatagramType::nack);
    nack.probe = request.probe;
    nack.target = request.target;
    send_with_gossip(request.node, std::move(nack));
    return;
  }
  if (relays_.size() >= options_.max_relays) return;
  const auto id = next_probe_id_++;
  relays_[id] = Relay{request.node,
                      request.probe,
                      request.target,
                      now + health_.scale(options_.probe_timeout),
                      now + health_.scale(options_.probe_interval),
                      false};
  auto ping = datagram(DatagramType::ping);
  ping.probe = id;
  send_with_gossip(request.target, std::move(ping));
}

void Swim::on_ack(const Datagram& ack) {
  if (ack.target.empty()) {
    if (probe_ && probe_->id == ack.probe && probe_->target == ack.node && !probe_->acked) {
      probe_->acked = true;
      health_.apply(-1);
      return;
    }
    auto relay = relays_.find(ack.probe);
    if (relay == relays_.end() || relay->second.target != ack.node) return;
    auto relayed = datagram(DatagramType::ack);
    relayed.probe = relay->second.requester_probe;
    relayed.target = relay->second.target;
    send_with_gossip(relay->second.requester, std::move(relayed));
    relays_.erase(relay);
    return;
  }
  if (probe_ && probe_->id == ack.probe && probe_->target == ack.target &&
      probe_->relays.contains(ack.node) && !probe_->acked) {
    probe_->acked = true;
    health_.apply(-1);
  }
}

void Swim::on_nack(const Datagram& nack) {
  if (probe_ && probe_->id == nack.probe && probe_->target == nack.target &&
      probe_->relays.contains(nack.node)) {
    probe_->nacked.insert(nack.node);
  }
}

// ---------------------------------------------------------------------------------------------
// State changes

Swim::Record* Swim::add_member(const std::string& address, std::uint64_t incarnation,
                               core::SteadyTime now) {
  if (members_.size() >= options_.max_members || !core::parse_endpoint(address)) return nullptr;
  auto& record = members_[address];
  record.member.address = address;
  record.member.incarnation = incarnation;
  record.member.state_since = now;
  schedule_.add(address);
  unjoined_seeds_.erase(address);
  return &record;
}

void Swim::change_state(Record& record, MemberState to, std::uint64_t incarnation,
                        const char* reason, core::SteadyTime now) {
  auto& member = record.member;
  const auto from = member.state;
  member.incarnation = incarnation;
  if (to != MemberState::suspect) record.suspicion.reset();
  if (from == to) return;
  member.state = to;
  member.state_since = now;
  if (events_.size() >= options_.max_events) events_.pop_front();
  events_.push_back({member.address, from, to, incarnation, reason, now});
}

// Alive at `incarnation`: news only if it is newer than what we hold (a suspect at the same
// incarnation stays suspect, a dead member stays dead). True when it was news.
bool Swim::accept_alive(const std::string& address, std::uint64_t incarnation,
                        const std::optional<Load>& load, core::SteadyTime now) {
  auto it = members_.find(address);
  Record* record = nullptr;
  std::optional<MemberState> was;
  if (it == members_.end()) {
    record = add_member(address, incarnation, now);
    if (record == nullptr) return false;
    if (events_.size() >= options_.max_events) events_.pop_front();
    events_.push_back({address, std::nullopt, MemberState::alive, incarnation, "joined", now});
  } else {
    record = &it->second;
    if (incarnation <= record->member.incarnation) return false;
    was = record->member.state;
    const char* reason = departed(*was) ? "rejoined" : "refuted";
    change_state(*record, MemberState::alive, incarnation, reason, now);
    if (departed(*was)) schedule_.add(address);
  }
  if (load) record->member.load = *load;
  gossip_.push({address, MemberState::alive, incarnation, {}, std::nullopt});
  return true;
}

void Swim::suspect(const std::string& address, std::uint64_t incarnation,
                   const std::string& accuser, core::SteadyTime now) {
  auto it = members_.find(address);
  if (it == members_.end()) return;
  auto& record = it->second;
  auto& member = record.member;
  if (incarnation < member.incarnation || departed(member.state)) return;
  const GossipEntry entry{address, MemberState::suspect, incarnation, accuser, std::nullopt};
  if (record.suspicion && incarnation == member.incarnation) {
    // Another member agrees: the timeout shrinks, and the others should hear that too.
    if (!record.suspicion->confirm(accuser)) return;
    if (accuser == self_) {
      announce(entry);
    } else {
      gossip_.push(entry);
    }
    return;
  }
  change_state(record, MemberState::suspect, incarnation, "suspected", now);
  record.suspicion = new_suspicion(accuser, now);
  if (accuser == self_) {
    announce(entry);
  } else {
    gossip_.push(entry);
    // Probe it ourselves next: a failure confirms the suspicion (shortening it) and a ping
    // tells the suspect, which refutes if it is alive.
    schedule_.probe_soon(address);
  }
}

void Swim::bury(const std::string& address, std::uint64_t incarnation, MemberState how,
                core::SteadyTime now) {
  auto it = members_.find(address);
  if (it == members_.end()) return;
  auto& record = it->second;
  if (incarnation < record.member.incarnation || departed(record.member.state)) return;
  change_state(record, how, incarnation, how == MemberState::left ? "left" : "died", now);
  gossip_.push({address, how, incarnation, {}, std::nullopt});
}

void Swim::refute(std::uint64_t heard_incarnation) {
  if (heard_incarnation == std::numeric_limits<std::uint64_t>::max()) return;
  incarnation_ = heard_incarnation + 1;
  // Being suspected is a hint that we are the slow one (Lifeguard).
  health_.apply(1);
  announce({self_, MemberState::alive, incarnation_, {}, std::nullopt});
}

Suspicion Swim::new_suspicion(const std::string& accuser, core::SteadyTime now) const {
  const auto members = static_cast<double>(live_count());
  const auto min = std::chrono::duration_cast<core::Duration>(
      options_.probe_interval * options_.suspicion_multiplier * std::max(1.0, std::log10(members)));
  const auto max = std::chrono::duration_cast<core::Duration>(
      min * std::max(1.0, options_.suspicion_max_multiplier));
  // Others who could confirm: everyone but ourselves and the suspect.
  const auto could_confirm = live_count() >= 2 ? live_count() - 2 : 0;
  const auto wanted =
      could_confirm < options_.suspicion_confirmations ? 0 : options_.suspicion_confirmations;
  return Suspicion(accuser, wanted, min, max, now);
}

// ---------------------------------------------------------------------------------------------
// Time

std::vector<Outgoing> Swim::tick(core::SteadyTime now) {
  if (left_) return {};
  run_relays(now);
  expire_suspicions(now);
  run_probe(now);
  join_seeds(now);
  reconnect_dead(now);
  forget_departed(now);
  return take_outgoing();
}

core::SteadyTime Swim::next_wakeup() const {
  auto wakeup = next_probe_at_;
  if (probe_) wakeup = std::min(wakeup, probe_->indirect_sent ? probe_->ends : probe_->indirect_at);
  for (const auto& [id, relay] : relays_) {
    wakeup = std::min(wakeup, relay.nacked ? relay.expires : relay.nack_at);
  }
  for (const auto& [address, record] : members_) {
    if (record.suspicion) wakeup = std::min(wakeup, record.suspicion->deadline());
    if (departed(record.member.state)) {
      wakeup = std::min(wakeup, record.member.state_since + options_.dead_retention);
      wakeup = std::min(wakeup, next_reconnect_at_);
    }
  }
  if (!unjoined_seeds_.empty()) wakeup = std::min(wakeup, next_join_at_);
  return wakeup;
}

void Swim::run_probe(core::SteadyTime now) {
  if (probe_ && !probe_->acked && !probe_->indirect_sent && now >= probe_->indirect_at) {
    ask_relays(now);
  }
  if (probe_ && now >= probe_->ends) finish_probe(now);
  if (!probe_ && now >= next_probe_at_) start_probe(now);
}

void Swim::start_probe(core::SteadyTime now) {
  const auto target =
      schedule_.next([this](const std::string& address) { return is_live(address); });
  const auto interval = health_.scale(options_.probe_interval);
  next_probe_at_ = now + interval;
  if (!target) return;
  Probe probe;
  probe.target = *target;
  probe.id = next_probe_id_++;
  probe.indirect_at = now + health_.scale(options_.probe_timeout);
  probe.ends = now + interval;
  probe_ = std::move(probe);
  auto ping = datagram(DatagramType::ping);
  ping.probe = probe_->id;
  send_with_gossip(*target, std::move(ping));
}

void Swim::ask_relays(core::SteadyTime) {
  probe_->indirect_sent = true;
  auto candidates = live_members_except(probe_->target);
  std::erase_if(candidates, [this](const std::string& address) {
    return members_.at(address).member.state != MemberState::alive;
  });
  const auto count = std::min(options_.indirect_probes, candidates.size());
  for (std::size_t i = 0; i < count; ++i) {
    std::swap(candidates[i], candidates[i + random_.below(candidates.size() - i)]);
    auto request = datagram(DatagramType::ping_req);
    request.probe = probe_->id;
    request.target = probe_->target;
    probe_->relays.insert(candidates[i]);
    send_with_gossip(candidates[i], std::move(request));
  }
}

void Swim::finish_probe(core::SteadyTime now) {
  auto probe = std::move(*probe_);
  probe_.reset();
  if (probe.acked) return;
  // Lifeguard: relays that did not even nack suggest the trouble is ours, not the target's.
  // With no relay to ask, any failed probe counts against us.
  const auto silent_relays = probe.relays.size() - probe.nacked.size();
  health_.apply(probe.relays.empty() ? 1 : static_cast<int>(silent_relays));
  auto it = members_.find(probe.target);
  if (it == members_.end() || departed(it->second.member.state)) return;
  suspect(probe.target, it->second.member.incarnation, self_, now);
}

void Swim::run_relays(core::SteadyTime now) {
  for (auto it = relays_.begin(); it != relays_.end();) {
    auto& relay = it->second;
    if (!relay.nacked && now >= relay.nack_at) {
      relay.nacked = true;
      auto nack = datagram(DatagramType::nack);
      nack.probe = relay.requester_probe;
      nack.target = relay.target;
      send_with_gossip(relay.requester, std::move(nack));
    }
    it = now >= relay.expires ? relays_.erase(it) : std::next(it);
  }
}

void Swim::expire_suspicions(core::SteadyTime now) {
  for (auto& [address, record] : members_) {
    if (!record.suspicion || now < record.suspicion->deadline()) continue;
    const auto incarnation = record.member.incarnation;
    change_state(record, MemberState::dead, incarnation, "died", now);
    announce({address, MemberState::dead, incarnation, {}, std::nullopt});
  }
}

void Swim::join_seeds(core::SteadyTime now) {
  if (unjoined_seeds_.empty()) {
    join_backoff_.reset();
    return;
  }
  if (now < next_join_at_) return;
  next_join_at_ = now + join_backoff_.next();
  // Untracked pings: the answer's header is what joins the seed.
  for (const auto& seed : unjoined_seeds_) {
    auto ping = datagram(DatagramType::ping);
    ping.probe = next_probe_id_++;
    send_with_gossip(seed, std::move(ping));
  }
}

void Swim::reconnect_dead(core::SteadyTime now) {
  if (now < next_reconnect_at_) return;
  next_reconnect_at_ = now + options_.reconnect_interval;
  std::vector<std::string> dead;
  for (const auto& [address, record] : members_) {
    if (record.member.state == MemberState::dead) dead.push_back(address);
  }
  if (dead.empty()) return;
  // The ping tells it that it is dead (what_we_think_of); alive, it refutes in its ack.
  auto ping = datagram(DatagramType::ping);
  ping.probe = next_probe_id_++;
  send_with_gossip(dead[random_.below(dead.size())], std::move(ping));
}

void Swim::forget_departed(core::SteadyTime now) {
  for (auto it = members_.begin(); it != members_.end();) {
    const auto& member = it->second.member;
    if (!departed(member.state) || now - member.state_since < options_.dead_retention) {
      ++it;
      continue;
    }
    schedule_.remove(member.address);
    gossip_.forget(member.address);
    if (configured_seeds_.contains(member.address)) unjoined_seeds_.insert(member.address);
    it = members_.erase(it);
  }
}

// ---------------------------------------------------------------------------------------------
// Outgoing

std::vector<Outgoing> Swim::leave(core::SteadyTime) {
  if (left_) return {};
  for (const auto& address : live_members_except(self_)) send(address, datagram(DatagramType::bye));
  left_ = true;
  return take_outgoing();
}

Datagram Swim::datagram(DatagramType type) const {
  Datagram out;
  out.type = type;
  out.node = self_;
  out.incarnation = incarnation_;
  out.load = load_;
  out.draining = draining_;
  return out;
}

void Swim::send(const std::string& to, Datagram datagram) {
  outgoing_.push_back({to, std::move(datagram)});
}

// What we believe of `member` when that is bad news it should hear to refute it: every
// datagram to a member we suspect or think dead says so first (Lifeguard's "buddy system").
std::optional<GossipEntry> Swim::what_we_think_of(const std::string& member) const {
  auto it = members_.find(member);
  if (it == members_.end()) return std::nullopt;
  const auto& record = it->second.member;
  switch (record.state) {
    case MemberState::suspect:
      return GossipEntry{member, MemberState::suspect, record.incarnation, self_, std::nullopt};
    case MemberState::dead:
      return GossipEntry{member, MemberState::dead, record.incarnation, {}, std::nullopt};
    default:
      return std::nullopt;
  }
}

void Swim::send_with_gossip(const std::string& to, Datagram datagram) {
  const auto about_recipient = what_we_think_of(to);
  if (about_recipient) datagram.gossip.push_back(*about_recipient);
  const auto room =
      options_.gossip_per_datagram - std::min(options_.gossip_per_datagram, datagram.gossip.size());
  // Nothing else about the recipient: what it says of itself is always newer.
  for (auto& entry : gossip_.take(room, gossip_limit(), to)) {
    datagram.gossip.push_back(std::move(entry));
  }
  send(to, std::move(datagram));
}

void Swim::announce(GossipEntry entry) {
  gossip_.push(entry);
  announcements_.push_back(std::move(entry));
}

// One heartbeat to every live member carrying what we announced in this call, instead of
// waiting for it to be piggybacked. The subject of an accusation gets it too, to refute it.
void Swim::flush_announcements() {
  if (announcements_.empty()) return;
  auto recipients = live_members_except(self_);
  for (const auto& entry : announcements_) {
    if (entry.node != self_ && members_.contains(entry.node) &&
        std::find(recipients.begin(), recipients.end(), entry.node) == recipients.end()) {
      recipients.push_back(entry.node);
    }
  }
  const auto count = std::min(announcements_.size(), options_.gossip_per_datagram);
  for (const auto& address : recipients) {
    auto heartbeat = datagram(DatagramType::heartbeat);
    heartbeat.gossip.assign(announcements_.end() - static_cast<std::ptrdiff_t>(count),
                            announcements_.end());
    send(address, std::move(heartbeat));
  }
  announcements_.clear();
}

void Swim::push_members_to(const std::string& address) {
  std::vector<GossipEntry> entries;
  for (const auto& [other, record] : members_) {
    const auto& member = record.member;
    if (other == address || member.state != MemberState::alive) continue;
    entries.push_back({other, MemberState::alive, member.incarnation, {}, std::nullopt});
  }
  // A random selection when there are more than we push.
  for (std::size_t i = 0; i < std::min(entries.size(), options_.join_push_entries); ++i) {
    std::swap(entries[i], entries[i + random_.below(entries.size() - i)]);
  }
  entries.resize(std::min(entries.size(), options_.join_push_entries));
  const auto per_datagram = std::max<std::size_t>(1, options_.gossip_per_datagram);
  for (std::size_t at = 0; at < entries.size(); at += per_datagram) {
    auto heartbeat = datagram(DatagramType::heartbeat);
    const auto end = std::min(entries.size(), at + per_datagram);
    heartbeat.gossip.assign(entries.begin() + static_cast<std::ptrdiff_t>(at),
                            entries.begin() + static_cast<std::ptrdiff_t>(end));
    send(address, std::move(heartbeat));
  }
}

std::vector<Outgoing> Swim::take_outgoing() {
  flush_announcements();
  return std::exchange(outgoing_, {});
}

// ---------------------------------------------------------------------------------------------
// Queries

std::size_t Swim::live_count() const {
  return 1 + static_cast<std::size_t>(std::count_if(
                 members_.begin(), members_.end(),
                 [](const auto& entry) { return !departed(entry.second.member.state); }));
}

std::size_t Swim::gossip_limit() const {
  const auto scale = std::ceil(std::log10(static_cast<double>(live_count()) + 1.0));
  return options_.gossip_retransmit_multiplier * static_cast<std::size_t>(std::max(1.0, scale));
}

bool Swim::is_live(const std::string& address) const {
  auto it = members_.find(address);
  return it != members_.end() && !departed(it->second.member.state);
}

std::vector<std::string> Swim::live_members_except(const std::string& excluded) const {
  std::vector<std::string> out;
  for (const auto& [address, record] : members_) {
    if (address != excluded && !departed(record.member.state)) out.push_back(address);
  }
  return out;
}

std::vector<Member> Swim::members() const {
  std::vector<Member> out;
  out.reserve(members_.size());
  for (const auto& [address, record] : members_) out.push_back(record.member);
  return out;
}

std::optional<Member> Swim::member(const std::string& address) const {
  auto it = members_.find(address);
  if (it == members_.end()) return std::nullopt;
  return it->second.member;
}

std::vector<MemberEvent> Swim::take_events() {
  std::vector<MemberEvent> out(std::make_move_iterator(events_.begin()),
                               std::make_move_iterator(events_.end()));
  events_.clear();
  return out;
}

}  // namespace isla::membership
