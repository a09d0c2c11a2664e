#include "election_cluster.hpp"

#include <fmt/format.h>

namespace isla::election::testing {

ElectionCluster::ElectionCluster(std::vector<Candidate> nodes, Factory factory,
                                 ClusterOptions options)
    : factory_(std::move(factory)),
      options_(options),
      random_(options.seed),
      network_(random_, options.faults) {
  for (auto& candidate : nodes) {
    const auto id = candidate.id;
    nodes_.emplace(id, Node{std::move(candidate), nullptr, false, 0, {}});
  }
}

std::vector<NodeId> ElectionCluster::ids() const {
  std::vector<NodeId> out;
  for (const auto& [id, node] : nodes_) out.push_back(id);
  return out;
}

std::vector<Candidate> ElectionCluster::candidates() const {
  std::vector<Candidate> out;
  for (const auto& [id, node] : nodes_) out.push_back(node.candidate);
  return out;
}

void ElectionCluster::boot(Node& node) {
  node.elector = factory_(node.candidate);
  node.alive = true;
  node.last_term = 0;
  send(node.elector->set_members(candidates(), now()));
  send(node.elector->start(now()));
  collect_events(node);
}

void ElectionCluster::start() {
  for (auto& [id, node] : nodes_) boot(node);
}

void ElectionCluster::step() {
  clock_.advance(options_.tick);
  for (auto& delivery : network_.due(now())) {
    auto& node = nodes_.at(delivery.to);
    if (!node.alive) continue;
    send(node.elector->on_message(delivery.message, now()));
  }
  for (auto& [id, node] : nodes_) {
    if (!node.alive) continue;
    send(node.elector->tick(now()));
    collect_events(node);
  }
  check_invariants();
}

void ElectionCluster::run_for(core::Duration span) {
  const auto end = now() + span;
  while (now() < end) step();
}

std::optional<core::Duration> ElectionCluster::run_until(const std::function<bool()>& done,
                                                         core::Duration limit) {
  const auto begin = now();
  while (!done()) {
    if (now() - begin >= limit) return std::nullopt;
    step();
  }
  return now() - begin;
}

void ElectionCluster::crash(const NodeId& id) {
  nodes_.at(id).alive = false;
}

void ElectionCluster::restart(const NodeId& id) {
  boot(nodes_.at(id));
}

void ElectionCluster::set_members(const NodeId& id, std::vector<Candidate> alive) {
  auto& node = nodes_.at(id);
  if (!node.alive) return;
  send(node.elector->set_members(std::move(alive), now()));
  collect_events(node);
}

void ElectionCluster::act(const NodeId& id,
                          const std::function<std::vector<Outgoing>(Elector&)>& call) {
  auto& node = nodes_.at(id);
  if (!node.alive) return;
  send(call(*node.elector));
  collect_events(node);
}

std::optional<NodeId> ElectionCluster::agreed_leader() const {
  std::optional<NodeId> leader;
  std::optional<Term> term;
  for (const auto& [id, node] : nodes_) {
    if (!node.alive) continue;
    const auto theirs = node.elector->leader();
    if (!theirs || (leader && *leader != *theirs)) return std::nullopt;
    if (term && *term != node.elector->term()) return std::nullopt;
    leader = theirs;
    term = node.elector->term();
  }
  if (!leader) return std::nullopt;
  const auto& chosen = nodes_.at(*leader);
  if (!chosen.alive || !chosen.elector->is_leader()) return std::nullopt;
  return leader;
}

void ElectionCluster::send(const std::vector<Outgoing>& out) {
  for (const auto& outgoing : out) network_.send(outgoing, now());
}

void ElectionCluster::collect_events(Node& node) {
  for (auto& event : node.elector->take_events()) node.events.push_back(std::move(event));
}

void ElectionCluster::check_invariants() {
  for (auto& [id, node] : nodes_) {
    if (!node.alive) continue;
    const auto term = node.elector->term();
    if (term < node.last_term) {
      violations_.push_back(
          fmt::format("{} went back from term {} to {}", id, node.last_term, term));
    }
    node.last_term = term;
    if (!node.elector->is_leader()) continue;
    const auto [held, fresh] = leader_of_term_.emplace(term, id);
    if (!fresh && held->second != id) {
      violations_.push_back(fmt::format("term {} led by {} and {}", term, held->second, id));
    }
  }
}

}  // namespace isla::election::testing
