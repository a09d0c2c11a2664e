#include "pair_harness.hpp"

#include <algorithm>

namespace isla::balancer::pair::testing {

using namespace std::chrono_literals;

PairHarness::PairHarness(std::uint64_t seed, std::uint32_t priority_a, std::uint32_t priority_b)
    : start_(clock_.now()), random_(seed), priorities_{priority_a, priority_b} {
  store_.clock = &clock_;
  for (int i = 0; i < 2; ++i) {
    members_[i].fs = std::make_unique<durability::FaultInjectingFileSystem>(seed + i);
    members_[i].fs->create_directories("/data");
    members_[i].address = std::make_unique<RecordingAddress>(i, clock_, timeline_);
  }
}

std::uint64_t PairHarness::wall_ms() const {
  return 1'800'000'000'000ull +
         static_cast<std::uint64_t>(core::millis_between(start_, clock_.now()));
}

PairOptions PairHarness::options(int member) const {
  PairOptions options;
  options.heartbeat = {member == 0 ? "10.0.0.1" : "10.0.0.2", 7000};
  options.peer = {member == 0 ? "10.0.0.2" : "10.0.0.1", 7000};
  options.priority = priorities_[member];
  options.secret = std::string(kSecret);
  options.term_file = "/data/pair.term";
  return options;
}

void PairHarness::start(int member) {
  auto& m = members_[member];
  m.terms = std::make_unique<TermFile>(*m.fs, "/data/pair.term");
  if (with_lease_) m.lease = std::make_unique<MemberLease>(store_, options(member).heartbeat.str());
  m.node = std::make_unique<PairNode>(
      options(member), *m.address, *m.terms, clock_, [this] { return wall_ms(); },
      [this, member](std::string bytes) { send(member, std::move(bytes)); }, m.lease.get());
  m.node->start();
}

void PairHarness::crash(int member) {
  auto& m = members_[member];
  m.node.reset();
  m.terms.reset();
  m.lease.reset();
  m.fs->crash(durability::CrashMode::kTearUnsynced);
  // The address is owned by the process (InterfaceAddress puts it on a TUN device that dies
  // with it): a crash lets go of it.
  m.address->release();
  to_deliver_.erase(std::remove_if(to_deliver_.begin(), to_deliver_.end(),
                                   [&](const InFlight& f) { return f.to == member; }),
                    to_deliver_.end());
}

void PairHarness::stop(int member) {
  members_[member].node->stop();
}

void PairHarness::send(int from, std::string bytes) {
  const int to = 1 - from;
  sent_to_[to].push_back(bytes);
  if (cut_) return;
  const auto copies = 1 + (random_.unit() < faults_.duplicate ? 1 : 0);
  for (int i = 0; i < copies; ++i) {
    if (random_.unit() < faults_.loss) continue;
    const auto spread = (faults_.max_delay - faults_.min_delay).count() + 1;
    const auto delay = faults_.min_delay + std::chrono::milliseconds(random_.below(spread));
    to_deliver_.push_back({clock_.now() + delay, to, bytes});
  }
}

void PairHarness::step() {
  clock_.advance(1ms);
  ++steps_;
  // Deliver what is due, in arrival order (delays differ: datagrams overtake each other).
  std::stable_sort(to_deliver_.begin(), to_deliver_.end(),
                   [](const InFlight& a, const InFlight& b) { return a.at < b.at; });
  while (!to_deliver_.empty() && to_deliver_.front().at <= clock_.now()) {
    auto next = std::move(to_deliver_.front());
    to_deliver_.erase(to_deliver_.begin());
    if (members_[next.to].node) members_[next.to].node->on_datagram(next.bytes);
  }
  store_.answer_all();
  if (steps_ % 10 == 0) {
    for (auto& m : members_) {
      if (m.node) m.node->tick();
    }
  }
  if (!cut_) max_holders_connected_ = std::max(max_holders_connected_, holders());
}

void PairHarness::run_for(std::chrono::milliseconds duration) {
  for (std::chrono::milliseconds spent{0}; spent < duration; spent += 1ms) step();
}

}  // namespace isla::balancer::pair::testing
