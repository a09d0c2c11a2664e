#pragma once
// The island store's replicated state machine: a key-value map with etcd's revision model
// (a global revision per write; create/mod revision and version per key), multi-key
// transactions guarded by comparisons (compare-and-swap), range by prefix, a bounded event
// history for watches, and TTL leases whose keys go when the lease is revoked. Deterministic:
// time enters only through commands, so every replica computes the same state.
#include <cstdint>
#include <deque>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace isla::store {

using Revision = std::int64_t;
using LeaseId = std::int64_t;

struct KeyValue {
  std::string key;
  std::string value;
  Revision create_revision = 0;
  Revision mod_revision = 0;
  std::int64_t version = 0;  // writes since the key was (re)created
  LeaseId lease = 0;
  friend bool operator==(const KeyValue&, const KeyValue&) = default;
};

struct Event {
  enum class Type { put, del };
  Type type = Type::put;
  KeyValue kv;  // for deletes: the key and the revision of the delete
  friend bool operator==(const Event&, const Event&) = default;
};

struct Compare {
  enum class Target { value, version, create_revision, mod_revision };
  enum class Result { equal, not_equal, less, greater };
  std::string key;
  Target target = Target::value;
  Result result = Result::equal;
  std::string value;        // for Target::value
  std::int64_t number = 0;  // for the others; an absent key has 0 everywhere
};

struct RequestOp {
  enum class Kind { get, range, put, del, del_range };
  Kind kind = Kind::get;
  std::string key;  // or the prefix, for range and del_range
  std::string value;
  LeaseId lease = 0;
};

struct Txn {
  std::vector<Compare> compares;
  std::vector<RequestOp> success;
  std::vector<RequestOp> failure;
};

struct OpResult {
  std::vector<KeyValue> kvs;  // get/range: what was read; put/del: the previous values
  std::int64_t deleted = 0;
  friend bool operator==(const OpResult&, const OpResult&) = default;
};

struct TxnResult {
  bool succeeded = true;
  Revision revision = 0;  // the store's revision after the transaction
  std::vector<OpResult> results;
  std::string error;  // e.g. an unknown lease; the transaction then changed nothing
  friend bool operator==(const TxnResult&, const TxnResult&) = default;
};

struct WatchResult {
  std::vector<Event> events;
  bool compacted = false;  // `from` is older than the history kept: start again from a get
  Revision compact_revision = 0;
  // Where the next look starts: past every revision this one covered, matching or not, so
  // that a watcher of a quiet prefix does not filter the same history again.
  Revision next = 0;
  bool more = false;  // a limit cut the answer short: revisions from `next` on are there already
};

class KvStateMachine {
 public:
  static constexpr std::size_t kDefaultHistoryEvents = 10'000;
  static constexpr std::size_t kDefaultHistoryBytes = std::size_t{64} << 20;

  // The watch history keeps the latest revisions within both bounds (and always the newest,
  // however large), dropping the oldest and advancing the compacted revision.
  explicit KvStateMachine(std::size_t history_events = kDefaultHistoryEvents,
                          std::size_t history_bytes = kDefaultHistoryBytes)
      : history_events_limit_(history_events), history_bytes_limit_(history_bytes) {}

  TxnResult apply(const Txn& txn);
  // Leases: `now_ms` is the proposer's clock, carried in the command.
  TxnResult grant_lease(LeaseId id, std::int64_t ttl_ms, std::int64_t now_ms);
  TxnResult keep_alive(LeaseId id, std::int64_t now_ms);
  TxnResult revoke_lease(LeaseId id);
  // Leases whose deadline is before `now_ms` (the leader proposes their revocation). A leader
  // elected at `leader_since_ms` gives every lease one full TTL from then, as etcd does:
  // holders could not reach anyone to keep their leases alive while there was no leader.
  std::vector<LeaseId> expired_leases(std::int64_t now_ms, std::int64_t leader_since_ms = 0) const;

  std::vector<LeaseId> lease_ids() const;
  std::optional<KeyValue> get(const std::string& key) const;
  std::vector<KeyValue> range(const std::string& prefix) const;
  // Events with revision >= from on keys starting with `prefix`, in order: at most
  // `max_events` and `max_bytes` (by event_bytes) of them, except that the first revision
  // found comes whole whatever its size. Revisions are never split, so a watcher resuming
  // after the last revision it saw misses nothing.
  WatchResult events_since(Revision from, std::string_view prefix = {},
                           std::size_t max_events = std::numeric_limits<std::size_t>::max(),
                           std::size_t max_bytes = std::numeric_limits<std::size_t>::max()) const;
  Revision revision() const { return revision_; }

  // What an event counts against the history's byte bound: its key and value, which can be
  // large, and a fixed allowance for the rest (revisions, string and deque overheads). Fixed
  // rather than sizeof-based so that every replica, whatever its platform, compacts at the
  // same revisions.
  static constexpr std::size_t kEventOverheadBytes = 128;
  static std::size_t event_bytes(const Event& event) {
    return event.kv.key.size() + event.kv.value.size() + kEventOverheadBytes;
  }
  // The sum of event_bytes over the history kept.
  std::size_t history_bytes() const { return history_bytes_; }

  std::string snapshot() const;
  // Throws std::invalid_argument on bytes that snapshot() did not produce.
  void restore(const std::string& bytes);

 private:
  struct Lease {
    std::int64_t ttl_ms = 0;
    std::int64_t deadline_ms = 0;
    std::set<std::string> keys;
  };

  bool holds(const Compare& compare) const;
  OpResult read(const RequestOp& op) const;
  OpResult write(const RequestOp& op, Revision revision);
  void remove(const std::string& key, Revision revision, OpResult& result);
  void record(Event event);
  void trim_history();

  std::map<std::string, KeyValue> keys_;
  std::map<LeaseId, Lease> leases_;
  std::deque<Event> history_;
  std::size_t history_events_limit_;
  std::size_t history_bytes_limit_;
  std::size_t history_bytes_ = 0;
  Revision revision_ = 0;
  Revision compacted_ = 0;  // events at or below this revision were dropped
  std::uint64_t events_recorded_ = 0;
  mutable std::size_t last_snapshot_bytes_ = 0;  // to size the next one's buffer at once
};

}  // namespace isla::store
