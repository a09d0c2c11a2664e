#include "clocks/event_log.hpp"

#include <algorithm>
#include <tuple>

namespace isla::clocks {

namespace json = boost::json;

namespace {

// The log's JSON promises a string or an object; anything else is kept as its JSON text.
json::value as_detail(json::value detail) {
  if (detail.is_string() || detail.is_object()) return detail;
  return json::string(json::serialize(detail));
}

bool causally_sorted(const Event& a, const Event& b) {
  return std::tie(a.lamport, a.node, a.id) < std::tie(b.lamport, b.node, b.id);
}

}  // namespace

EventLog::EventLog(EventLogOptions options, WallClock wall_clock)
    : options_(std::move(options)), wall_clock_(std::move(wall_clock)) {}

Event EventLog::record_local(std::string kind, json::value detail) {
  std::lock_guard lock(mutex_);
  lamport_.tick();
  return append(std::move(kind), std::move(detail));
}

Event EventLog::record_received(std::string kind, json::value detail, std::uint64_t remote_lamport,
                                const VectorClock& remote_vector) {
  std::lock_guard lock(mutex_);
  lamport_.observe(remote_lamport);
  vector_.merge(remote_vector);
  return append(std::move(kind), std::move(detail));
}

Event EventLog::append(std::string kind, json::value detail) {
  vector_.increment(options_.node);
  Event event{next_id_++,       options_.node, std::move(kind), as_detail(std::move(detail)),
              lamport_.value(), vector_,       wall_clock_(),   {}};
  by_node_[event.node][event.vector.at(event.node)] = event.id;
  events_.push_back(event);
  evict();
  return event;
}

bool EventLog::ingest(Event event) {
  std::lock_guard lock(mutex_);
  const auto own = event.vector.at(event.node);
  if (own == 0) return false;
  auto& chain = by_node_[event.node];
  if (chain.contains(own)) return false;
  event.id = next_id_++;
  event.after.clear();
  event.detail = as_detail(std::move(event.detail));
  chain[own] = event.id;
  events_.push_back(std::move(event));
  evict();
  return true;
}

void EventLog::evict() {
  while (events_.size() > std::max<std::size_t>(options_.capacity, 1)) {
    const auto& oldest = events_.front();
    const auto chain = by_node_.find(oldest.node);
    chain->second.erase(oldest.vector.at(oldest.node));
    if (chain->second.empty()) by_node_.erase(chain);
    events_.pop_front();
  }
}

std::vector<Event> EventLog::causal_order() const {
  return since(0);
}

std::vector<Event> EventLog::since(std::uint64_t id) const {
  std::lock_guard lock(mutex_);
  return ordered(id);
}

std::vector<Event> EventLog::ordered(std::uint64_t after_id) const {
  // Ids grow along the deque: the feed's events are a suffix.
  const auto first = std::upper_bound(events_.begin(), events_.end(), after_id,
                                      [](std::uint64_t id, const Event& e) { return id < e.id; });
  std::vector<Event> out(first, events_.end());
  std::sort(out.begin(), out.end(), causally_sorted);
  for (auto& event : out) event.after = predecessors(event);
  return out;
}

std::vector<std::uint64_t> EventLog::predecessors(const Event& event) const {
  std::vector<std::uint64_t> out;
  for (const auto& [node, count] : event.vector.entries()) {
    const auto chain = by_node_.find(node);
    if (chain == by_node_.end()) continue;
    // Its own node's chain: strictly before this event; any other node's: up to the count
    // this event has seen of it.
    const auto limit = node == event.node ? count - 1 : count;
    auto found = chain->second.upper_bound(limit);
    if (found == chain->second.begin()) continue;
    out.push_back(std::prev(found)->second);
  }
  std::sort(out.begin(), out.end());
  return out;
}

Stamp EventLog::clocks() const {
  std::lock_guard lock(mutex_);
  return {lamport_.value(), vector_};
}

std::size_t EventLog::size() const {
  std::lock_guard lock(mutex_);
  return events_.size();
}

}  // namespace isla::clocks
