#include "store/kv_state_machine.hpp"

#include "store/kv_codec.hpp"

#include <algorithm>
#include <iterator>
#include <stdexcept>

namespace isla::store {

namespace {

bool writes(const RequestOp& op) {
  return op.kind == RequestOp::Kind::put || op.kind == RequestOp::Kind::del ||
         op.kind == RequestOp::Kind::del_range;
}

template <class T>
bool compare(const T& actual, Compare::Result result, const T& expected) {
  switch (result) {
    case Compare::Result::equal:
      return actual == expected;
    case Compare::Result::not_equal:
      return actual != expected;
    case Compare::Result::less:
      return actual < expected;
    case Compare::Result::greater:
      return actual > expected;
  }
  return false;
}

constexpr std::string_view kSnapshotMagic = "isla-kv-snapshot-1";
// Bounds that keep every sum the machine computes (revision + 1, now + TTL) far from
// overflow, whatever a snapshot or a command says.
constexpr Revision kMaxRevision = Revision{1} << 62;
constexpr std::int64_t kMaxTtlMs = 366LL * 24 * 3600 * 1000;
constexpr std::int64_t kMaxTimeMs = std::int64_t{1} << 60;

std::uint64_t u(std::int64_t value) {
  return static_cast<std::uint64_t>(value);
}

bool valid_kv(const KeyValue& kv, Revision revision) {
  return kv.create_revision > 0 && kv.create_revision <= kv.mod_revision &&
         kv.mod_revision <= revision && kv.version > 0 && kv.lease >= 0;
}

TxnResult failed(std::string error, Revision revision) {
  TxnResult result;
  result.succeeded = false;
  result.revision = revision;
  result.error = std::move(error);
  return result;
}

}  // namespace

bool KvStateMachine::holds(const Compare& condition) const {
  auto found = keys_.find(condition.key);
  const KeyValue absent;
  const KeyValue& kv = found == keys_.end() ? absent : found->second;
  switch (condition.target) {
    case Compare::Target::value:
      // An absent key equals nothing, not even the empty string.
      if (found == keys_.end()) return condition.result == Compare::Result::not_equal;
      return compare(kv.value, condition.result, condition.value);
    case Compare::Target::version:
      return compare(kv.version, condition.result, condition.number);
    case Compare::Target::create_revision:
      return compare(kv.create_revision, condition.result, condition.number);
    case Compare::Target::mod_revision:
      return compare(kv.mod_revision, condition.result, condition.number);
  }
  return false;
}

OpResult KvStateMachine::read(const RequestOp& op) const {
  OpResult result;
  if (op.kind == RequestOp::Kind::get) {
    if (auto kv = get(op.key)) result.kvs.push_back(*kv);
  } else {
    result.kvs = range(op.key);
  }
  return result;
}

void KvStateMachine::remove(const std::string& key, Revision revision, OpResult& result) {
  auto found = keys_.find(key);
  if (found == keys_.end()) return;
  result.kvs.push_back(found->second);
  ++result.deleted;
  if (found->second.lease != 0) {
    if (auto lease = leases_.find(found->second.lease); lease != leases_.end()) {
      lease->second.keys.erase(key);
    }
  }
  KeyValue tombstone;
  tombstone.key = key;
  tombstone.mod_revision = revision;
  keys_.erase(found);
  record(Event{Event::Type::del, std::move(tombstone)});
}

OpResult KvStateMachine::write(const RequestOp& op, Revision revision) {
  OpResult result;
  switch (op.kind) {
    case RequestOp::Kind::put: {
      auto [it, created] = keys_.try_emplace(op.key);
      KeyValue& kv = it->second;
      if (!created) {
        result.kvs.push_back(kv);
        if (kv.lease != 0 && kv.lease != op.lease) leases_[kv.lease].keys.erase(op.key);
      } else {
        kv.key = op.key;
        kv.create_revision = revision;
      }
      kv.value = op.value;
      kv.mod_revision = revision;
      ++kv.version;
      kv.lease = op.lease;
      if (op.lease != 0) leases_[op.lease].keys.insert(op.key);
      record(Event{Event::Type::put, kv});
      break;
    }
    case RequestOp::Kind::del:
      remove(op.key, revision, result);
      break;
    case RequestOp::Kind::del_range: {
      for (const auto& kv : range(op.key)) remove(kv.key, revision, result);
      break;
    }
    default:
      break;
  }
  return result;
}

TxnResult KvStateMachine::apply(const Txn& txn) {
  if (revision_ >= kMaxRevision) return failed("the store has run out of revisions", revision_);
  bool succeeded = true;
  for (const auto& condition : txn.compares) succeeded = succeeded && holds(condition);
  const auto& ops = succeeded ? txn.success : txn.failure;
  for (const auto& op : ops) {
    if (op.kind == RequestOp::Kind::put && op.lease != 0 && leases_.count(op.lease) == 0) {
      return failed("lease " + std::to_string(op.lease) + " not found", revision_);
    }
  }
  const Revision next = revision_ + 1;
  const std::uint64_t events_before = events_recorded_;
  TxnResult result;
  result.succeeded = succeeded;
  for (const auto& op : ops) result.results.push_back(writes(op) ? write(op, next) : read(op));
  // Only a transaction that changed something takes a revision (as in etcd).
  if (events_recorded_ != events_before) {
    revision_ = next;
    trim_history();
  }
  result.revision = revision_;
  return result;
}

TxnResult KvStateMachine::grant_lease(LeaseId id, std::int64_t ttl_ms, std::int64_t now_ms) {
  if (id <= 0 || ttl_ms <= 0 || ttl_ms > kMaxTtlMs || now_ms < 0 || now_ms > kMaxTimeMs) {
    return failed("lease id and TTL must be positive, the TTL at most a year", revision_);
  }
  if (leases_.count(id) > 0) return failed("lease " + std::to_string(id) + " exists", revision_);
  leases_[id] = Lease{ttl_ms, now_ms + ttl_ms, {}};
  return TxnResult{true, revision_, {}, {}};
}

TxnResult KvStateMachine::keep_alive(LeaseId id, std::int64_t now_ms) {
  auto found = leases_.find(id);
  if (found == leases_.end())
    return failed("lease " + std::to_string(id) + " not found", revision_);
  if (now_ms < 0 || now_ms > kMaxTimeMs)
    return failed("the lease clock is out of range", revision_);
  found->second.deadline_ms = now_ms + found->second.ttl_ms;
  return TxnResult{true, revision_, {}, {}};
}

TxnResult KvStateMachine::revoke_lease(LeaseId id) {
  auto found = leases_.find(id);
  if (found == leases_.end())
    return failed("lease " + std::to_string(id) + " not found", revision_);
  Txn txn;
  for (const auto& key : found->second.keys) {
    txn.success.push_back(RequestOp{RequestOp::Kind::del, key, {}, 0});
  }
  leases_.erase(found);
  return apply(txn);
}

std::vector<LeaseId> KvStateMachine::expired_leases(std::int64_t now_ms,
                                                    std::int64_t leader_since_ms) const {
  std::vector<LeaseId> out;
  for (const auto& [id, lease] : leases_) {
    const auto deadline = std::max(lease.deadline_ms, leader_since_ms + lease.ttl_ms);
    if (deadline < now_ms) out.push_back(id);
  }
  return out;
}

std::vector<LeaseId> KvStateMachine::lease_ids() const {
  std::vector<LeaseId> ids;
  for (const auto& [id, lease] : leases_) ids.push_back(id);
  return ids;
}

std::optional<KeyValue> KvStateMachine::get(const std::string& key) const {
  auto found = keys_.find(key);
  if (found == keys_.end()) return std::nullopt;
  return found->second;
}

std::vector<KeyValue> KvStateMachine::range(const std::string& prefix) const {
  std::vector<KeyValue> out;
  for (auto it = keys_.lower_bound(prefix); it != keys_.end() && it->first.starts_with(prefix);
       ++it) {
    out.push_back(it->second);
  }
  return out;
}

void KvStateMachine::record(Event event) {
  ++events_recorded_;
  history_bytes_ += event_bytes(event);
  history_.push_back(std::move(event));
}

// Runs once a transaction is complete: trimming while it records could drop the start of
// its own revision and keep the rest.
void KvStateMachine::trim_history() {
  // Whole revisions go, oldest first, so a watcher never sees half a transaction. The newest
  // stays even when it alone is over a bound: a watcher that is up to date must get it.
  while (!history_.empty() &&
         (history_.size() > history_events_limit_ || history_bytes_ > history_bytes_limit_) &&
         history_.front().kv.mod_revision != history_.back().kv.mod_revision) {
    const Revision dropped = history_.front().kv.mod_revision;
    while (history_.front().kv.mod_revision == dropped) {
      history_bytes_ -= event_bytes(history_.front());
      history_.pop_front();
    }
    compacted_ = dropped;
  }
}

WatchResult KvStateMachine::events_since(Revision from, std::string_view prefix,
                                         std::size_t max_events, std::size_t max_bytes) const {
  WatchResult result;
  if (from <= compacted_) {
    result.compacted = true;
    result.compact_revision = compacted_ + 1;
    return result;
  }
  const auto matches = [prefix](const Event& event) { return event.kv.key.starts_with(prefix); };
  std::size_t bytes = 0;
  auto at = std::partition_point(history_.begin(), history_.end(), [from](const Event& event) {
    return event.kv.mod_revision < from;
  });
  while (at != history_.end()) {
    // One revision at a time, measured before it is copied, so that a limit falls between
    // revisions and nothing is copied only to be thrown away.
    const Revision revision = at->kv.mod_revision;
    auto end = at;
    std::size_t group_events = 0;
    std::size_t group_bytes = 0;
    for (; end != history_.end() && end->kv.mod_revision == revision; ++end) {
      if (!matches(*end)) continue;
      ++group_events;
      group_bytes += event_bytes(*end);
    }
    if (!result.events.empty() &&
        (result.events.size() + group_events > max_events || bytes + group_bytes > max_bytes)) {
      result.next = revision;
      result.more = true;
      return result;
    }
    std::copy_if(at, end, std::back_inserter(result.events), matches);
    bytes += group_bytes;
    at = end;
  }
  result.next = std::max(from, revision_ + 1);
  return result;
}

// Snapshots are binary: keys and values are bytes (JSON would need them to be UTF-8), and
// a large store serialises faster. restore() checks every invariant the machine keeps,
// since a snapshot may come from a damaged disk or a buggy peer.
std::string KvStateMachine::snapshot() const {
  consensus::Writer out(last_snapshot_bytes_ + last_snapshot_bytes_ / 8);
  out.bytes(kSnapshotMagic).u64(u(revision_)).u64(u(compacted_));
  out.u64(leases_.size());
  for (const auto& [id, lease] : leases_)
    out.u64(u(id)).u64(u(lease.ttl_ms)).u64(u(lease.deadline_ms));
  out.u64(keys_.size());
  for (const auto& [key, kv] : keys_) write_kv(out, kv);
  out.u64(history_.size());
  for (const auto& event : history_) {
    out.u8(event.type == Event::Type::put ? 0 : 1);
    write_kv(out, event.kv);
  }
  std::string bytes = out.take();
  last_snapshot_bytes_ = bytes.size();
  return bytes;
}

void KvStateMachine::restore(const std::string& bytes) {
  auto fail = [](const std::string& why) {
    throw std::invalid_argument("not a store snapshot: " + why);
  };
  consensus::Reader in(bytes);
  std::string magic;
  KvStateMachine restored(history_events_limit_, history_bytes_limit_);
  if (!in.bytes(magic) || magic != kSnapshotMagic) fail("wrong header");
  if (!read_i64(in, restored.revision_) || !read_i64(in, restored.compacted_)) fail("truncated");
  if (restored.revision_ < 0 || restored.revision_ > kMaxRevision || restored.compacted_ < 0 ||
      restored.compacted_ > restored.revision_) {
    fail("revision " + std::to_string(restored.revision_) + " / compacted " +
         std::to_string(restored.compacted_) + " out of range");
  }
  std::uint64_t count = 0;
  if (!in.u64(count) || count > in.remaining() / 24) fail("bad lease count");
  for (std::uint64_t i = 0; i < count; ++i) {
    LeaseId id = 0;
    Lease lease;
    if (!read_i64(in, id) || !read_i64(in, lease.ttl_ms) || !read_i64(in, lease.deadline_ms)) {
      fail("truncated lease");
    }
    if (id <= 0 || lease.ttl_ms <= 0 || lease.ttl_ms > kMaxTtlMs || lease.deadline_ms < 0 ||
        lease.deadline_ms > kMaxTimeMs + kMaxTtlMs ||
        !restored.leases_.emplace(id, std::move(lease)).second) {
      fail("lease " + std::to_string(id) + " is invalid or listed twice");
    }
  }
  if (!in.u64(count) || count > in.remaining() / kMinKvBytes) fail("bad key count");
  for (std::uint64_t i = 0; i < count; ++i) {
    KeyValue kv;
    if (!read_kv(in, kv)) fail("truncated key");
    if (!valid_kv(kv, restored.revision_)) fail("key \"" + kv.key + "\" has invalid revisions");
    if (kv.lease != 0) {
      auto lease = restored.leases_.find(kv.lease);
      if (lease == restored.leases_.end()) fail("key \"" + kv.key + "\" names an unknown lease");
      lease->second.keys.insert(kv.key);
    }
    const std::string key = kv.key;
    if (!restored.keys_.emplace(key, std::move(kv)).second) fail("key \"" + key + "\" twice");
  }
  if (!in.u64(count) || count > in.remaining() / (kMinKvBytes + 1)) fail("bad history count");
  Revision previous = restored.compacted_;
  for (std::uint64_t i = 0; i < count; ++i) {
    std::uint8_t type = 0;
    Event event;
    if (!in.u8(type) || type > 1 || !read_kv(in, event.kv)) fail("truncated event");
    event.type = type == 0 ? Event::Type::put : Event::Type::del;
    const Revision revision = event.kv.mod_revision;
    if (revision <= restored.compacted_ || revision < previous || revision > restored.revision_) {
      fail("history out of order at revision " + std::to_string(revision));
    }
    previous = revision;
    restored.history_bytes_ += event_bytes(event);
    restored.history_.push_back(std::move(event));
  }
  if (!in.done()) fail("trailing bytes");
  // The snapshot may come from a replica with larger bounds; this one's hold from now on.
  restored.trim_history();
  *this = std::move(restored);
}

}  // namespace isla::store
