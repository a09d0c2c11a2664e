#include "gateway/routing_table.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>

namespace isla::gateway {

const char* to_string(ServerState state) {
  switch (state) {
    case ServerState::alive:
      return "alive";
    case ServerState::draining:
      return "draining";
    case ServerState::ejected:
      return "ejected";
  }
  return "unknown";
}

std::shared_ptr<Backend> RoutingSnapshot::pick(const std::string& figure,
                                               const std::vector<const Backend*>& tried,
                                               core::Random& random) const {
  if (auto owner = pick_among(figure, tried, random, true)) return owner;
  return pick_among(figure, tried, random, false);
}

std::shared_ptr<Backend> RoutingSnapshot::pick_among(const std::string& figure,
                                                     const std::vector<const Backend*>& tried,
                                                     core::Random& random, bool owners_only) const {
  auto found = routable.find(figure);
  if (found == routable.end()) return nullptr;
  const std::vector<std::string>* figure_owners = nullptr;
  if (owners_only) {
    auto owned = owners.find(figure);
    if (owned == owners.end()) return nullptr;  // not partitioned: one pass over all replicas
    figure_owners = &owned->second;
  }
  const auto& replicas = found->second;
  std::shared_ptr<Backend> best;
  int best_load = 0;
  std::uint64_t ties = 0;
  for (const auto& replica : replicas) {
    if (std::find(tried.begin(), tried.end(), replica.get()) != tried.end()) continue;
    if (figure_owners &&
        std::ranges::find(*figure_owners, replica->address) == figure_owners->end()) {
      continue;
    }
    const int load = replica->outstanding.load(std::memory_order_relaxed);
    if (!best || load < best_load) {
      best = replica;
      best_load = load;
      ties = 1;
    } else if (load == best_load && random.below(++ties) == 0) {
      best = replica;  // reservoir sampling: each tied replica equally likely
    }
  }
  return best;
}

ServerState RoutingTable::state_of(const Entry& entry) {
  if (entry.ejected) return ServerState::ejected;
  if (entry.draining) return ServerState::draining;
  return ServerState::alive;
}

// A bye removes its sender at once, so a heartbeat it overtook on the way must not bring the
// sender back: that is one sent before the bye (same incarnation, lower seq) or from before
// a restart. Anything else comes from a live sender and re-registers it, because a departed
// record must never keep a live server out:
//  - with a secret, only the sender itself can have signed the bye (replays are dropped
//    before this), and a correct sender announces nothing after its bye in the same
//    incarnation; so a later seq, or a new incarnation, means it is alive (restarted, or
//    came back), and what it says last is what holds;
//  - without a secret anyone can forge a bye, with any seq; so the record blocks only for
//    a heartbeat timeout, long enough for reordered datagrams to have arrived, and a
//    forged bye costs a server one heartbeat interval, not its place for good.
bool RoutingTable::overtaken_by_bye(const membership::Datagram& datagram,
                                    core::SteadyTime now) const {
  for (const auto& departure : departed_) {
    if (departure.address != datagram.node || departure.reason != "bye") continue;
    if (now - departure.when > options_.heartbeat_timeout) continue;
    if (datagram.incarnation < departure.incarnation) return true;
    if (datagram.incarnation == departure.incarnation && datagram.seq < departure.seq) {
      return true;
    }
  }
  return false;
}

Announced RoutingTable::on_announce(const membership::Datagram& datagram, core::SteadyTime now) {
  if (overtaken_by_bye(datagram, now)) return Announced::rejected;
  auto [it, inserted] = entries_.try_emplace(datagram.node);
  Entry& entry = it->second;
  const ServerState before = inserted ? ServerState::ejected : state_of(entry);
  const auto figures_before = entry.figures;
  if (inserted) {
    entry.backend = std::make_shared<Backend>(datagram.node, *core::parse_endpoint(datagram.node));
    spdlog::info("piece server joined address={} figures={} incarnation={}", datagram.node,
                 datagram.figures.size(), datagram.incarnation);
  } else if (datagram.incarnation > entry.incarnation) {
    // A restarted server starts with a clean record.
    if (entry.ejected) spdlog::info("piece server restarted address={}", datagram.node);
    entry.ejected = false;
    entry.backend->consecutive_failures = 0;
  } else if (datagram.incarnation < entry.incarnation) {
    return Announced::rejected;  // from before a restart, reordered on the way
  }
  entry.incarnation = datagram.incarnation;
  entry.figures = datagram.figures;
  entry.last_seen = now;
  entry.load = datagram.load;
  if (entry.draining != datagram.draining && datagram.draining) {
    spdlog::info("piece server draining address={}", datagram.node);
  }
  entry.draining = datagram.draining;
  bool new_figure = false;
  for (const auto& figure : datagram.figures) {
    auto [known, added] = known_figures_.insert_or_assign(figure, now);
    new_figure = new_figure || added;
  }
  std::erase_if(departed_, [&](const Departure& d) { return d.address == datagram.node; });
  const bool changed =
      inserted || new_figure || before != state_of(entry) || figures_before != entry.figures;
  return changed ? Announced::changed : Announced::unchanged;
}

void RoutingTable::depart(std::map<std::string, Entry>::iterator entry, std::string reason,
                          std::uint64_t seq, core::SteadyTime now) {
  spdlog::info("piece server left address={} reason={}", entry->first, reason);
  departed_.push_front({entry->first, std::move(reason), entry->second.figures,
                        entry->second.incarnation, seq, now});
  while (departed_.size() > options_.departed_history) departed_.pop_back();
  entries_.erase(entry);
}

bool RoutingTable::on_bye(const membership::Datagram& datagram, core::SteadyTime now) {
  // Only the incarnation we route to may take itself out: a bye from an older one is stale,
  // and one from a newer incarnation we have not heard announce is not about this entry.
  auto found = entries_.find(datagram.node);
  if (found == entries_.end() || datagram.incarnation != found->second.incarnation) return false;
  depart(found, "bye", datagram.seq, now);
  return true;
}

bool RoutingTable::on_failure(const std::string& address, FailureKind kind, core::SteadyTime now) {
  auto found = entries_.find(address);
  if (found == entries_.end()) return false;
  Entry& entry = found->second;
  const int failures = ++entry.backend->consecutive_failures;
  if (entry.ejected) return false;
  if (kind == FailureKind::other && failures < options_.failures_to_eject) return false;
  entry.ejected = true;
  entry.ejected_until = now + options_.ejection_time;
  spdlog::warn("piece server ejected address={} cause={} consecutive_failures={}", address,
               kind == FailureKind::connect ? "connect" : "errors", failures);
  return true;
}

bool RoutingTable::expire(core::SteadyTime now) {
  bool changed = false;
  for (auto it = entries_.begin(); it != entries_.end();) {
    auto next = std::next(it);
    Entry& entry = it->second;
    if (now - entry.last_seen > options_.heartbeat_timeout) {
      depart(it, "timeout", 0, now);
      changed = true;
    } else if (entry.ejected && now >= entry.ejected_until) {
      entry.ejected = false;
      entry.backend->consecutive_failures = 0;
      spdlog::info("piece server ejection over address={}", it->first);
      changed = true;
    }
    it = next;
  }
  return forget_figures(now) || changed;
}

bool RoutingTable::forget_figures(core::SteadyTime now) {
  // Figures of live servers are refreshed by every heartbeat, so only names nobody holds
  // any more age out.
  const auto forgotten = std::erase_if(known_figures_, [&](const auto& figure) {
    return now - figure.second > options_.figure_ttl;
  });
  return forgotten > 0;
}

const partition::Owners& RoutingTable::owners() const {
  std::vector<std::string> members;
  for (const auto& [address, entry] : entries_) {
    // Ejection is about requests failing for a while, not membership: an ejected server
    // keeps its share, or a short outage would move figures twice.
    if (!entry.draining) members.push_back(address);
  }
  if (!placement_ || placement_->servers() != members) {
    placement_.emplace(std::move(members), options_.placement);
    owners_.clear();
    for (const auto& figure : options_.catalogue) owners_[figure] = placement_->owners(figure);
  }
  return owners_;
}

std::optional<std::vector<std::string>> RoutingTable::assignment(const std::string& address) const {
  if (!partitioned()) return std::nullopt;
  auto entry = entries_.find(address);
  if (entry == entries_.end()) return std::nullopt;
  const auto serves = [this](std::string_view server, std::string_view figure) {
    auto holder = entries_.find(std::string(server));
    return holder != entries_.end() && state_of(holder->second) == ServerState::alive &&
           std::ranges::find(holder->second.figures, figure) != holder->second.figures.end();
  };
  return partition::figures_to_hold(address, entry->second.figures, owners(), serves);
}

std::shared_ptr<const RoutingSnapshot> RoutingTable::snapshot() const {
  auto snapshot = std::make_shared<RoutingSnapshot>();
  for (const auto& [figure, last_announced] : known_figures_) {
    snapshot->known_figures.insert(snapshot->known_figures.end(), figure);
  }
  if (partitioned()) {
    // The catalogue's figures are known whoever holds them: a figure between owners is a
    // 503 for a moment at worst, never a 404.
    snapshot->known_figures.insert(options_.catalogue.begin(), options_.catalogue.end());
    snapshot->owners = owners();
  }
  for (const auto& [address, entry] : entries_) {
    if (state_of(entry) != ServerState::alive) continue;
    for (const auto& figure : entry.figures) snapshot->routable[figure].push_back(entry.backend);
  }
  return snapshot;
}

std::vector<ServerView> RoutingTable::servers(core::SteadyTime now) const {
  std::vector<ServerView> out;
  for (const auto& [address, entry] : entries_) {
    out.push_back({address, state_of(entry), entry.figures, entry.backend->outstanding.load(),
                   entry.backend->answered.load(), entry.load,
                   core::millis_between(entry.last_seen, now), entry.incarnation});
  }
  return out;
}

std::vector<DepartedView> RoutingTable::departed(core::SteadyTime now) const {
  std::vector<DepartedView> out;
  for (const auto& departure : departed_) {
    out.push_back({departure.address, departure.reason, departure.figures,
                   core::millis_between(departure.when, now)});
  }
  return out;
}

std::size_t RoutingTable::routable_count() const {
  return static_cast<std::size_t>(
      std::count_if(entries_.begin(), entries_.end(),
                    [](const auto& e) { return state_of(e.second) == ServerState::alive; }));
}

}  // namespace isla::gateway
