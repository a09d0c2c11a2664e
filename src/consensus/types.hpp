#pragma once
// The vocabulary of the Raft core: entries, messages, persistent state and the Ready batch
// the application acts on (the shape of etcd/raft's API).
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace isla::consensus {

using NodeId = std::uint64_t;  // 0 means "none"
using Term = std::uint64_t;
using Index = std::uint64_t;

// No honest cluster gets near this (one election a microsecond for 140,000 years); messages
// with a larger term are dropped, so the term can never wrap.
inline constexpr Term kMaxTerm = Term{1} << 62;

enum class EntryType : std::uint8_t { normal, conf_change };

struct Entry {
  Term term = 0;
  Index index = 0;
  EntryType type = EntryType::normal;
  std::string data;  // empty normal entries are the leaders' no-ops
  friend bool operator==(const Entry&, const Entry&) = default;
};

struct ConfState {
  std::vector<NodeId> voters;
  std::vector<NodeId> learners;
  friend bool operator==(const ConfState&, const ConfState&) = default;
};

// One server added or removed at a time (Raft thesis §4.1); promoting a learner is
// add_voter of an existing learner.
struct ConfChange {
  enum class Kind : std::uint8_t { add_voter, add_learner, remove };
  Kind kind = Kind::add_voter;
  NodeId node = 0;
  std::string address;  // where the node listens (host:port), so every member can reach it
  friend bool operator==(const ConfChange&, const ConfChange&) = default;
};

std::string encode(const ConfChange& change);
std::optional<ConfChange> decode_conf_change(const std::string& data);

struct Snapshot {
  Index index = 0;
  Term term = 0;
  ConfState conf;
  std::string data;  // the application's state machine at `index`
  friend bool operator==(const Snapshot&, const Snapshot&) = default;
};

struct HardState {
  Term term = 0;
  NodeId vote = 0;
  Index commit = 0;
  friend bool operator==(const HardState&, const HardState&) = default;
};

enum class Role : std::uint8_t { follower, pre_candidate, candidate, leader };
const char* to_string(Role role);

enum class MessageType : std::uint8_t {
  pre_vote,
  pre_vote_response,
  vote,
  vote_response,
  append,
  append_response,
  heartbeat,
  heartbeat_response,
  snapshot,
  timeout_now,          // leadership transfer: campaign now
  read_index,           // a follower asks the leader for a read index
  read_index_response,  // the leader's answer
};
const char* to_string(MessageType type);

struct Message {
  MessageType type = MessageType::append;
  NodeId from = 0;
  NodeId to = 0;
  Term term = 0;
  // append: index and term of the entry before `entries`; vote: the candidate's last entry;
  // append_response: the last index now matching (or the rejected index).
  Index index = 0;
  Term log_term = 0;
  std::vector<Entry> entries;
  Index commit = 0;
  bool reject = false;
  Index reject_hint = 0;  // append_response: the follower's last index
  std::optional<Snapshot> snapshot;
  std::string context;  // read requests' context; "transfer" on transfer-induced votes
  friend bool operator==(const Message&, const Message&) = default;
};

// A linearizable read may be served once the state machine has applied `index`.
struct ReadState {
  Index index = 0;
  std::string context;
  friend bool operator==(const ReadState&, const ReadState&) = default;
};

// What the application must do, in this order: persist `snapshot`, `entries` and
// `hard_state` (durably), then send `messages`, then apply `committed` to the state
// machine and serve `reads` once applied; then call Raft::advance(ready).
struct Ready {
  Role role = Role::follower;
  NodeId leader = 0;
  std::optional<HardState> hard_state;
  std::optional<Snapshot> snapshot;
  std::vector<Entry> entries;
  std::vector<Message> messages;
  std::vector<Entry> committed;
  std::vector<ReadState> reads;

  bool empty() const {
    return !hard_state && !snapshot && entries.empty() && messages.empty() && committed.empty() &&
           reads.empty();
  }
};

// What a node restarted from disk hands back to a new Raft instance.
struct PersistentState {
  HardState hard_state;
  std::optional<Snapshot> snapshot;
  std::vector<Entry> entries;  // following the snapshot, if any
};

enum class ReadOnlyMode : std::uint8_t {
  safe,        // ReadIndex: a round of heartbeats confirms leadership
  lease_based  // trust check-quorum's lease; unsafe if clocks drift a lot
};

// Tunables, in ticks (the driver decides how long a tick is).
struct RaftOptions {
  NodeId id = 0;
  int election_ticks = 10;  // randomised per election in [n, 2n)
  int heartbeat_ticks = 1;
  bool pre_vote = true;
  bool check_quorum = true;
  ReadOnlyMode read_only = ReadOnlyMode::safe;
  std::size_t max_entries_per_message = 256;
  std::size_t max_bytes_per_message = 1 << 20;
  std::size_t max_inflight_messages = 64;  // appends in flight per follower
  std::uint64_t random_seed = 1;
  // A leader tells followers of a new commit index at once, in an append of its own (etcd);
  // or, when false, leaves it to the driver to call announce_commit() a little later, so
  // that the next proposal's append carries it. A lone writer then costs one append and one
  // answer per follower instead of two of each.
  bool announce_commit_at_once = true;
};

}  // namespace isla::consensus
