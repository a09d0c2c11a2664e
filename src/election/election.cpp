#include "election/election.hpp"

#include <tuple>

namespace isla::election {

bool outranks(const Candidate& a, const Candidate& b) {
  return std::tie(a.priority, a.id) > std::tie(b.priority, b.id);
}

const char* to_string(MessageKind kind) {
  switch (kind) {
    case MessageKind::election:
      return "election";
    case MessageKind::answer:
      return "answer";
    case MessageKind::coordinator:
      return "coordinator";
    case MessageKind::heartbeat:
      return "heartbeat";
    case MessageKind::ring_election:
      return "ring_election";
    case MessageKind::ring_coordinator:
      return "ring_coordinator";
    case MessageKind::ring_ack:
      return "ring_ack";
  }
  return "unknown";
}

const char* to_string(EventKind kind) {
  switch (kind) {
    case EventKind::election_started:
      return "election_started";
    case EventKind::leader_changed:
      return "leader_changed";
    case EventKind::leader_lost:
      return "leader_lost";
    case EventKind::stepped_down:
      return "stepped_down";
    case EventKind::peer_skipped:
      return "peer_skipped";
  }
  return "unknown";
}

}  // namespace isla::election
