#include "membership/gossip_queue.hpp"

#include <algorithm>

namespace isla::membership {

void GossipQueue::push(GossipEntry entry) {
  if (capacity_ == 0) return;
  if (!queued_.contains(entry.node) && queued_.size() >= capacity_) {
    auto stalest = std::min_element(queued_.begin(), queued_.end(), [](auto& a, auto& b) {
      return b.second.sends_before(a.second);
    });
    queued_.erase(stalest);
  }
  auto node = entry.node;
  queued_[node] = Queued{std::move(entry), 0, next_order_++};
}

std::vector<GossipEntry> GossipQueue::take(std::size_t count, std::size_t limit,
                                           const std::string& skip_node) {
  std::vector<Queued*> candidates;
  for (auto& [node, queued] : queued_) {
    if (node != skip_node) candidates.push_back(&queued);
  }
  const auto chosen = std::min(count, candidates.size());
  std::partial_sort(candidates.begin(), candidates.begin() + static_cast<std::ptrdiff_t>(chosen),
                    candidates.end(),
                    [](const Queued* a, const Queued* b) { return a->sends_before(*b); });
  std::vector<GossipEntry> out;
  for (std::size_t i = 0; i < chosen; ++i) {
    auto* queued = candidates[i];
    out.push_back(queued->entry);
    if (++queued->sent >= limit) queued_.erase(queued->entry.node);
  }
  return out;
}

}  // namespace isla::membership
