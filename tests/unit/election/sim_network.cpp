#include "sim_network.hpp"

#include "election/codec.hpp"

namespace isla::election::testing {

SimNetwork::SimNetwork(core::Random& random, NetworkFaults faults)
    : random_(random), faults_(faults) {}

core::Duration SimNetwork::delay() {
  const auto spread = (faults_.max_delay - faults_.min_delay).count();
  return faults_.min_delay + core::Duration(static_cast<core::Duration::rep>(
                                 random_.below(static_cast<std::uint64_t>(spread) + 1)));
}

bool SimNetwork::linked(const NodeId& a, const NodeId& b) const {
  return side_.contains(a) == side_.contains(b);
}

void SimNetwork::partition(std::set<NodeId> side) {
  side_ = std::move(side);
}

void SimNetwork::send(const Outgoing& outgoing, core::SteadyTime now) {
  ++sent_[outgoing.message.kind];
  const auto& from = outgoing.message.from.id;
  if (outgoing.message.kind == MessageKind::ring_coordinator &&
      outgoing.message.initiator == from) {
    conclusions_.emplace(from, outgoing.message.term);
  }
  if (!linked(from, outgoing.to) || random_.unit() < faults_.drop) return;
  const auto copies = random_.unit() < faults_.duplicate ? 2 : 1;
  const auto wire = encode(outgoing.message);
  for (int copy = 0; copy < copies; ++copy) {
    in_flight_.emplace(std::pair{now + delay(), order_++}, std::tuple{from, outgoing.to, wire});
  }
}

std::vector<Delivery> SimNetwork::due(core::SteadyTime now) {
  std::vector<Delivery> out;
  while (!in_flight_.empty() && in_flight_.begin()->first.first <= now) {
    auto [from, to, wire] = std::move(in_flight_.begin()->second);
    in_flight_.erase(in_flight_.begin());
    if (!linked(from, to)) continue;
    auto decoded = decode(wire);
    if (!decoded.message) {
      rejected_.push_back(decoded.rejection + ": " + wire);
      continue;
    }
    out.push_back({std::move(from), std::move(to), std::move(*decoded.message)});
  }
  return out;
}

std::uint64_t SimNetwork::sent(MessageKind kind) const {
  const auto found = sent_.find(kind);
  return found == sent_.end() ? 0 : found->second;
}

}  // namespace isla::election::testing
