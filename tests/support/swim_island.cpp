#include "support/swim_island.hpp"

#include <algorithm>

namespace isla::testing {

using membership::Datagram;
using membership::MemberState;

namespace {

constexpr auto kStart = core::SteadyTime{} + std::chrono::hours(1);
constexpr std::uint64_t kFirstIncarnation = 1'764'600'000'000;  // a wall clock in ms

}  // namespace

SwimIsland::SwimIsland(Options options)
    : options_(std::move(options)), network_random_(options_.seed), now_(kStart) {
  nodes_.resize(options_.nodes);
  for (std::size_t i = 0; i < nodes_.size(); ++i) {
    nodes_[i].incarnation = kFirstIncarnation + i;
    start(i);
  }
}

std::string SwimIsland::address_of(std::size_t node) {
  return "127.0.1." + std::to_string(node + 1) + ":5235";
}

std::optional<std::size_t> SwimIsland::index_of(const std::string& address) const {
  for (std::size_t i = 0; i < nodes_.size(); ++i) {
    if (address_of(i) == address) return i;
  }
  return std::nullopt;
}

// Every node knows every other as a seed, as `isla up` configures them.
void SwimIsland::start(std::size_t index) {
  auto& node = nodes_[index];
  node.random = std::make_unique<core::SeededRandom>(options_.seed * 1'000'003 + index * 7919 +
                                                     node.incarnation);
  node.swim = std::make_unique<membership::Swim>(address_of(index), node.incarnation, options_.swim,
                                                 *node.random);
  for (std::size_t other = 0; other < nodes_.size(); ++other) {
    if (other != index) node.swim->add_seed(address_of(other));
  }
  node.up = true;
}

void SwimIsland::run_for(core::Duration duration) {
  const auto until = now_ + duration;
  while (now_ < until) step();
}

std::optional<core::Duration> SwimIsland::run_until(const std::function<bool()>& done,
                                                    core::Duration limit) {
  const auto started = now_;
  while (now_ - started < limit) {
    if (done()) return now_ - started;
    step();
  }
  if (done()) return now_ - started;
  return std::nullopt;
}

// Datagrams are delivered at the instant they arrive; each node ticks every options_.tick,
// as a driver on a timer would.
void SwimIsland::step() {
  const auto next = now_ + options_.tick;
  deliver_until(next);
  now_ = next;
  for (std::size_t i = 0; i < nodes_.size(); ++i) {
    if (!nodes_[i].up) continue;
    send(i, nodes_[i].swim->tick(now_), now_);
    collect_events(i);
  }
}

void SwimIsland::deliver_until(core::SteadyTime until) {
  while (!in_flight_.empty() && in_flight_.top().at <= until) {
    auto datagram = in_flight_.top();
    in_flight_.pop();
    deliver(datagram);
  }
}

void SwimIsland::deliver(const InFlight& datagram) {
  if (!nodes_[datagram.to].up || !link_up(datagram.from, datagram.to)) return;
  auto decoded = membership::decode(datagram.bytes, options_.secret);
  if (!decoded.datagram) {
    ++rejected_;
    return;
  }
  send(datagram.to, nodes_[datagram.to].swim->on_datagram(*decoded.datagram, datagram.at),
       datagram.at);
  collect_events(datagram.to);
}

void SwimIsland::send(std::size_t from, std::vector<membership::Outgoing> outgoing,
                      core::SteadyTime at) {
  auto& node = nodes_[from];
  for (auto& out : outgoing) {
    auto to = index_of(out.to);
    if (!to) continue;  // an address nobody listens on
    out.datagram.role = "gateway";
    out.datagram.island = "sim";
    out.datagram.seq = ++node.seq;
    out.datagram.ts =
        kFirstIncarnation + static_cast<std::uint64_t>(core::millis_between(kStart, at));
    auto bytes = membership::encode(out.datagram, options_.secret);
    ++sent_;
    if (!bytes) {
      ++too_large_;
      continue;
    }
    post(from, *to, std::move(*bytes), at);
  }
}

void SwimIsland::post(std::size_t from, std::size_t to, std::string bytes, core::SteadyTime at) {
  auto& random = network_random_;
  if (random.unit() < options_.faults.loss) return;
  const auto copies = random.unit() < options_.faults.duplicate ? 2 : 1;
  for (int copy = 0; copy < copies; ++copy) {
    const auto spread = options_.faults.max_delay - options_.faults.min_delay;
    const auto delay = options_.faults.min_delay +
                       std::chrono::microseconds(random.below(
                           static_cast<std::uint64_t>(std::max<long long>(0, spread.count())) + 1));
    in_flight_.push({at + delay, order_++, from, to, bytes});
  }
}

void SwimIsland::inject(std::size_t to, Datagram datagram) {
  const auto from = index_of(datagram.node).value_or(to);
  datagram.role = "gateway";
  datagram.island = "sim";
  auto bytes = membership::encode(datagram, options_.secret);
  if (bytes) in_flight_.push({now_, order_++, from, to, std::move(*bytes)});
}

void SwimIsland::collect_events(std::size_t observer) {
  for (auto& event : nodes_[observer].swim->take_events()) {
    const bool subject_was_up = subject_up(event.address);
    events_.push_back({observer, std::move(event), subject_was_up});
  }
}

bool SwimIsland::subject_up(const std::string& address) const {
  const auto index = index_of(address);
  return index && nodes_[*index].up;
}

bool SwimIsland::link_up(std::size_t from, std::size_t to) const {
  return !cut_.contains({from, to});
}

void SwimIsland::crash(std::size_t node) {
  nodes_.at(node).up = false;
}

void SwimIsland::restart(std::size_t index) {
  auto& node = nodes_.at(index);
  // A restart takes a new incarnation from the wall clock, which has moved on.
  node.incarnation += 1'000'000;
  start(index);
}

void SwimIsland::leave(std::size_t node) {
  send(node, nodes_.at(node).swim->leave(now_), now_);
  nodes_[node].up = false;
}

void SwimIsland::cut(std::size_t from, std::size_t to) {
  cut_.insert({from, to});
}

void SwimIsland::isolate_inbound(std::size_t node) {
  for (std::size_t other = 0; other < nodes_.size(); ++other) {
    if (other != node) cut(other, node);
  }
}

void SwimIsland::partition(const std::set<std::size_t>& side) {
  for (std::size_t a = 0; a < nodes_.size(); ++a) {
    for (std::size_t b = 0; b < nodes_.size(); ++b) {
      if (side.contains(a) != side.contains(b)) cut(a, b);
    }
  }
}

void SwimIsland::heal() {
  cut_.clear();
}

std::optional<MemberState> SwimIsland::view(std::size_t observer, std::size_t subject) const {
  auto member = nodes_.at(observer).swim->member(address_of(subject));
  if (!member) return std::nullopt;
  return member->state;
}

bool SwimIsland::everyone_sees(std::size_t subject, MemberState state) const {
  for (std::size_t i = 0; i < nodes_.size(); ++i) {
    if (i == subject || !nodes_[i].up) continue;
    if (view(i, subject) != state) return false;
  }
  return true;
}

bool SwimIsland::converged() const {
  for (std::size_t i = 0; i < nodes_.size(); ++i) {
    if (!nodes_[i].up) continue;
    for (std::size_t j = 0; j < nodes_.size(); ++j) {
      if (j != i && nodes_[j].up && view(i, j) != MemberState::alive) return false;
    }
  }
  return true;
}

std::size_t SwimIsland::false_deaths() const {
  return static_cast<std::size_t>(std::count_if(events_.begin(), events_.end(), [](auto& seen) {
    return seen.event.to == MemberState::dead && seen.subject_was_up;
  }));
}

std::size_t SwimIsland::suspicions() const {
  return static_cast<std::size_t>(std::count_if(events_.begin(), events_.end(), [](auto& seen) {
    return seen.event.to == MemberState::suspect;
  }));
}

}  // namespace isla::testing
