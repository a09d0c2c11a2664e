#pragma once
// Leader election as a pure state machine (STYLE.md, etcd/raft's shape): an Elector never
// touches a socket and never reads a clock. The driver hands it every election message it
// receives (on_message), calls tick() on a timer (every heartbeat_interval / 4 or more often:
// timeouts fire at the first tick after they expire), tells it who is alive (set_members, from
// the membership layer; a fixed list of peers works too), sends what they return, and reads
// take_events() for the event log. RingElector (the bridge of an island's gateways) and
// BullyElector (the balancer pair) implement it.
//
// Not thread-safe: the driver calls it from one strand.
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/clock.hpp"
#include "election/term.hpp"

namespace isla::election {

// A node's address, HOST:PORT, as the membership layer names it.
using NodeId = std::string;

// A node that may lead. The highest rank wins both elections: the higher priority, then the
// greater id (byte-wise), so no two distinct nodes tie.
struct Candidate {
  NodeId id;
  std::uint32_t priority = 0;
  friend bool operator==(const Candidate&, const Candidate&) = default;
};

// True when `a` ranks above `b`.
bool outranks(const Candidate& a, const Candidate& b);

enum class MessageKind {
  election,          // Bully: "I am holding an election", to every higher-ranked node
  answer,            // Bully's OK ("a higher node is alive: stand down"); from either algorithm,
                     // also the reply to a stale leader, carrying the newer term and its leader
  coordinator,       // Bully: "I lead this term", to every node
  heartbeat,         // both: the leader is alive, every heartbeat_interval, to every node
  ring_election,     // ring: travels the ring collecting the live candidates
  ring_coordinator,  // ring: travels the ring announcing the winner
  ring_ack,          // ring: the next node got hop `seq` (a hop not acknowledged is skipped)
};

const char* to_string(MessageKind kind);

struct ElectionMessage {
  MessageKind kind = MessageKind::heartbeat;
  Candidate from;
  // The highest term the sender has seen; for coordinator and heartbeat, the term it leads.
  Term term = 0;
  // ring_coordinator: the winner. answer: the sender's leader of `term`, when it knows one.
  std::optional<Candidate> leader;
  // ring_election: who started it; ring_coordinator: who concluded it.
  NodeId initiator;
  // ring_election, ring_coordinator: the initiator's election number (a retry takes a new one).
  std::uint64_t attempt = 0;
  // ring_election, ring_coordinator, ring_ack: the hop, numbered by its sender.
  std::uint64_t seq = 0;
  // ring_election: the candidates collected so far, in ring order from the initiator.
  std::vector<Candidate> candidates;
  friend bool operator==(const ElectionMessage&, const ElectionMessage&) = default;
};

struct Outgoing {
  NodeId to;
  ElectionMessage message;
  friend bool operator==(const Outgoing&, const Outgoing&) = default;
};

enum class EventKind {
  election_started,  // this node started an election
  leader_changed,    // a new (leader, term): elected, learned, or this node took over
  leader_lost,       // the leader fell silent or left the membership
  stepped_down,      // this node led and saw a higher term
  peer_skipped,      // ring: a successor did not acknowledge and was passed over
};

const char* to_string(EventKind kind);

// What happened, for the event log (clocks/event_log.hpp) and the dashboard.
struct ElectionEvent {
  EventKind kind = EventKind::leader_changed;
  Term term = 0;
  std::optional<NodeId> leader;  // the leader after the event, if any is known
  std::string detail;            // e.g. the skipped peer, or why the leader was lost
};

// How the leader shows it is alive, and how long followers wait for it.
struct LivenessOptions {
  std::chrono::milliseconds heartbeat_interval{100};
  // Heartbeats a follower misses before it holds the leader dead and starts an election.
  int missed_heartbeats = 3;
  core::Duration leader_timeout() const { return heartbeat_interval * missed_heartbeats; }
};

class Elector {
 public:
  virtual ~Elector() = default;

  // Begins; a node that hears no leader within the leader timeout holds an election (so a
  // node that restarts learns the current term before it competes).
  virtual std::vector<Outgoing> start(core::SteadyTime now) = 0;
  virtual std::vector<Outgoing> on_message(const ElectionMessage& message,
                                           core::SteadyTime now) = 0;
  virtual std::vector<Outgoing> tick(core::SteadyTime now) = 0;
  // The members alive as the membership layer sees them, in any order, this node included or
  // not. A leader that leaves the set is taken for dead at once.
  virtual std::vector<Outgoing> set_members(std::vector<Candidate> alive, core::SteadyTime now) = 0;

  virtual const Candidate& self() const = 0;
  virtual std::optional<NodeId> leader() const = 0;
  // The highest term seen; while leader(), the term it leads (see term.hpp).
  virtual Term term() const = 0;
  bool is_leader() const { return leader() == self().id; }
  virtual std::vector<ElectionEvent> take_events() = 0;
};

}  // namespace isla::election
