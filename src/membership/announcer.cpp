#include "membership/announcer.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>

namespace isla::membership {

Announcer::Announcer(asio::io_context& context, net::UdpEndpoint& udp, core::Clock& clock,
                     core::Random& random, AnnouncerOptions options, Describe describe,
                     IslandChanged island_changed)
    : context_(context),
      udp_(udp),
      clock_(clock),
      options_(std::move(options)),
      describe_(std::move(describe)),
      backoff_(options_.hello_backoff, random),
      wake_(context),
      island_changed_(std::move(island_changed)) {
  for (const auto& seed : options_.seeds) seeds_.push_back(Seed{seed});
}

void Announcer::start() {
  asio::co_spawn(context_, run(), asio::detached);
}

bool Announcer::answering(const Seed& seed) const {
  return seed.answered && clock_.now() - seed.last_answer < options_.seed_timeout;
}

std::uint64_t Announcer::send_to_all(DatagramType type) {
  Datagram datagram = describe_();
  datagram.type = type;
  datagram.seq = ++seq_;
  datagram.draining = draining_;
  datagram.ts = wall_clock_ms();  // gateways with a secret drop datagrams far from their clock
  // The island is the one a gateway's welcome named; until then none (only a hello may say
  // so), which any gateway accepts: a gateway drops datagrams that name another island.
  datagram.island = island_;
  auto bytes = encode(datagram, options_.secret);
  if (!bytes) {
    spdlog::error("membership datagram too large type={} figures={}", to_string(type),
                  datagram.figures.size());
    return seq_;
  }
  for (const auto& seed : seeds_) udp_.send(seed.address, *bytes);
  // Only a hello is broadcast: once a gateway answers, it is a seed and heard from directly.
  if (options_.broadcast && type == DatagramType::hello) udp_.send(*options_.broadcast, *bytes);
  return seq_;
}

asio::awaitable<void> Announcer::run() {
  bool announced = false;
  while (!stopped_) {
    const bool any = std::any_of(seeds_.begin(), seeds_.end(),
                                 [this](const Seed& seed) { return answering(seed); });
    std::chrono::milliseconds wait = options_.heartbeat_interval;
    if (any) {
      send_to_all(DatagramType::heartbeat);
      backoff_.reset();
      announced = true;
    } else {
      if (announced) spdlog::warn("no gateway answers any more; announcing again with hello");
      announced = false;
      send_to_all(DatagramType::hello);
      wait = backoff_.next();
      if (backoff_.attempts() > 3) {
        spdlog::info("no gateway answered hello yet attempts={} retry_in_ms={}",
                     backoff_.attempts(), wait.count());
      }
    }
    wake_.expires_after(wait);
    co_await wake_.async_wait(net::use_nothrow);
  }
}

Announcer::Seed* Announcer::seed_for(const Datagram& datagram, const core::Endpoint& from) {
  auto seed = std::find_if(seeds_.begin(), seeds_.end(),
                           [&](const Seed& candidate) { return candidate.address == from; });
  if (seed != seeds_.end()) return &*seed;
  // A gateway answering a broadcast hello speaks from its own address, which must be the one
  // it names (the MAC, when there is a secret, was checked before this).
  const bool discovered = options_.broadcast && datagram.type == DatagramType::welcome &&
                          datagram.role == "gateway" && core::parse_endpoint(datagram.node) == from;
  if (!discovered || discovered_ >= options_.max_discovered) return nullptr;
  ++discovered_;
  spdlog::info("gateway found by broadcast gateway={}", from.str());
  seeds_.push_back(Seed{from});
  return &seeds_.back();
}

bool Announcer::on_datagram(const Datagram& datagram, const core::Endpoint& from) {
  auto* seed = seed_for(datagram, from);
  if (seed == nullptr) return false;
  if (!options_.secret.empty() &&
      replay_.check(from.str(), datagram.incarnation, datagram.seq, datagram.ts, wall_clock_ms()) !=
          ReplayVerdict::fresh) {
    return false;
  }
  if (datagram.type == DatagramType::welcome) {
    const bool was_answering = answering(*seed);
    seed->answered = true;
    seed->last_answer = clock_.now();
    seed->acked_seq = std::max(seed->acked_seq, datagram.ack);
    if (datagram.island != island_) {
      island_ = datagram.island;
      if (island_changed_) island_changed_(island_);
    }
    if (!was_answering) {
      spdlog::info("welcomed gateway={} island={}", from.str(), datagram.island);
      wake_.cancel();  // start heartbeating now rather than after the backoff
    }
  } else if (datagram.type == DatagramType::bye) {
    seed->answered = false;
    spdlog::info("gateway said bye gateway={}", from.str());
  }
  return true;
}

asio::awaitable<bool> Announcer::announce_draining() {
  draining_ = true;
  const auto seq = send_to_all(DatagramType::heartbeat);
  const auto give_up = clock_.now() + options_.drain_ack_timeout;
  auto all_acked = [&] {
    return std::all_of(seeds_.begin(), seeds_.end(),
                       [&](const Seed& seed) { return !answering(seed) || seed.acked_seq >= seq; });
  };
  while (!all_acked() && clock_.now() < give_up) {
    co_await net::sleep_for(std::chrono::milliseconds(5));
  }
  co_return all_acked();
}

void Announcer::say_goodbye() {
  send_to_all(DatagramType::bye);
  stopped_ = true;
  wake_.cancel();
}

std::size_t Announcer::answering_seeds() const {
  return static_cast<std::size_t>(std::count_if(
      seeds_.begin(), seeds_.end(), [this](const Seed& seed) { return answering(seed); }));
}

}  // namespace isla::membership
