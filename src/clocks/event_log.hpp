#pragma once
// A bounded in-memory log of this node's membership, election and routing events (and of
// other nodes' events it was given), each with a Lamport time and a vector clock, returned in
// an order consistent with happened-before, each event with its immediate causal predecessors.
//
// Thread-safe: the gateway records from its UDP loop and reads from HTTP handlers on other
// threads, so every member takes one internal mutex. Recording is O(log n); reading sorts a
// copy, O(n log n) for the capacity (1000 by default).
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "clocks/event.hpp"
#include "clocks/lamport.hpp"
#include "core/clock.hpp"

namespace isla::clocks {

struct EventLogOptions {
  std::string node;             // this node's id, its entry in the vector clocks
  std::size_t capacity = 1000;  // events kept; the earliest recorded go first
};

class EventLog {
 public:
  using WallClock = std::function<std::int64_t()>;  // ms since the Unix epoch

  explicit EventLog(EventLogOptions options, WallClock wall_clock = core::wall_clock_ms);

  // A local event, a send included: ticks both clocks. A send attaches the result's stamp()
  // to its message.
  Event record_local(std::string kind, boost::json::value detail);
  // The receipt of a message that carried `remote`: merges it into both clocks, then ticks.
  Event record_received(std::string kind, boost::json::value detail, std::uint64_t remote_lamport,
                        const VectorClock& remote_vector);
  // An event another node recorded (e.g. read from its log), kept with its own clocks; it does
  // not move ours. Returns false for a copy of one already held (same node, same own count) or
  // an event whose clock lacks its own node's entry.
  bool ingest(Event event);

  // Every event held, in an order consistent with happened-before: by Lamport time, then node,
  // then id; a linear extension because a happened before b implies L(a) < L(b).
  std::vector<Event> causal_order() const;
  // The events recorded after `id` (ids are increasing), in causal order: a live feed polls
  // with the greatest id it has seen.
  std::vector<Event> since(std::uint64_t id) const;
  // Our clocks now, without an event.
  Stamp clocks() const;
  std::size_t size() const;

 private:
  Event append(std::string kind, boost::json::value detail);
  void evict();
  std::vector<Event> ordered(std::uint64_t after_id) const;
  std::vector<std::uint64_t> predecessors(const Event& event) const;

  const EventLogOptions options_;
  const WallClock wall_clock_;
  mutable std::mutex mutex_;
  LamportClock lamport_;
  VectorClock vector_;
  std::uint64_t next_id_ = 1;
  std::deque<Event> events_;  // by id
  // node -> its own count at each held event -> the event's id: a node's events form a chain,
  // so "its latest event that happened before e" is the greatest count <= e.vector[node].
  std::map<std::string, std::map<std::uint64_t, std::uint64_t>, std::less<>> by_node_;
};

}  // namespace isla::clocks
