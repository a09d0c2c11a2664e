#include "balancer/pair/pair_metrics.hpp"

namespace isla::balancer::pair {

namespace {

prometheus::Gauge& gauge(prometheus::Registry& registry, const std::string& name,
                         const std::string& help) {
  return prometheus::BuildGauge().Name(name).Help(help).Register(registry).Add({});
}

prometheus::Counter& counter(prometheus::Registry& registry, const std::string& name,
                             const std::string& help, const prometheus::Labels& labels = {}) {
  return prometheus::BuildCounter().Name(name).Help(help).Register(registry).Add(labels);
}

}  // namespace

PairMetrics::PairMetrics(prometheus::Registry& registry)
    : role_(prometheus::BuildGauge()
                .Name("isla_balancer_pair_role")
                .Help("1 for the pair member's current role")
                .Register(registry)),
      holds_(gauge(registry, "isla_balancer_pair_holds_address",
                   "1 while this member holds the service address")),
      peer_alive_(
          gauge(registry, "isla_balancer_pair_peer_alive", "1 while the peer's datagrams arrive")),
      round_(gauge(registry, "isla_balancer_pair_term_round",
                   "the election round of the highest term known")),
      takeovers_(counter(registry, "isla_balancer_pair_takeovers_total",
                         "times this member claimed the service address")),
      releases_(counter(registry, "isla_balancer_pair_releases_total",
                        "times this member released the service address")),
      sent_(prometheus::BuildCounter()
                .Name("isla_balancer_pair_datagrams_total")
                .Help("pair datagrams sent and accepted")
                .Register(registry)
                .Add({{"direction", "sent"}})),
      received_(prometheus::BuildCounter()
                    .Name("isla_balancer_pair_datagrams_total")
                    .Help("pair datagrams sent and accepted")
                    .Register(registry)
                    .Add({{"direction", "received"}})),
      dropped_(prometheus::BuildCounter()
                   .Name("isla_balancer_pair_dropped_total")
                   .Help("pair datagrams dropped, by reason")
                   .Register(registry)) {
  for (const auto role :
       {PairRole::starting, PairRole::standby, PairRole::taking_over, PairRole::active}) {
    roles_[role] = &role_.Add({{"role", to_string(role)}});
  }
}

void PairMetrics::advance(prometheus::Counter& counter, std::uint64_t& seen, std::uint64_t now) {
  if (now > seen) counter.Increment(static_cast<double>(now - seen));
  seen = now;
}

void PairMetrics::update(const PairStatus& status) {
  std::lock_guard lock(mutex_);
  for (auto& [role, gauge] : roles_) gauge->Set(role == status.role ? 1 : 0);
  holds_.Set(status.holds_address ? 1 : 0);
  peer_alive_.Set(status.peer_alive ? 1 : 0);
  round_.Set(static_cast<double>(status.term_round));
  advance(takeovers_, takeovers_seen_, status.takeovers);
  advance(releases_, releases_seen_, status.releases);
  advance(sent_, sent_seen_, status.beats_sent);
  advance(received_, received_seen_, status.beats_received);
  for (const auto& [reason, count] : status.dropped) {
    auto [entry, added] = dropped_seen_.try_emplace(reason, nullptr, 0);
    if (added) entry->second.first = &dropped_.Add({{"reason", reason}});
    advance(*entry->second.first, entry->second.second, count);
  }
}

}  // namespace isla::balancer::pair
