#include "store/kv_state_machine.hpp"

#include <boost/json.hpp>
#include <stdexcept>

namespace isla::store {

namespace json = boost::json;

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

json::object to_json(const KeyValue& kv) {
  return {{"key", kv.key},
          {"value", kv.value},
          {"create_revision", kv.create_revision},
          {"mod_revision", kv.mod_revision},
          {"version", kv.version},
          {"lease", kv.lease}};
}

KeyValue kv_from(const json::value& in) {
  KeyValue kv;
  kv.key = json::value_to<std::string>(in.at("key"));
  kv.value = json::value_to<std::string>(in.at("value"));
  kv.create_revision = in.at("create_revision").to_number<std::int64_t>();
  kv.mod_revision = in.at("mod_revision").to_number<std::int64_t>();
  kv.version = in.at("version").to_number<std::int64_t>();
  kv.lease = in.at("lease").to_number<std::int64_t>();
  return kv;
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
  if (events_recorded_ != events_before) revision_ = next;
  result.revision = revision_;
  return result;
}

TxnResult KvStateMachine::grant_lease(LeaseId id, std::int64_t ttl_ms, std::int64_t now_ms) {
  if (id <= 0 || ttl_ms <= 0) return failed("lease id and TTL must be positive", revision_);
  if (leases_.count(id) > 0) return failed("lease " + std::to_string(id) + " exists", revision_);
  leases_[id] = Lease{ttl_ms, now_ms + ttl_ms, {}};
  return TxnResult{true, revision_, {}, {}};
}

TxnResult KvStateMachine::keep_alive(LeaseId id, std::int64_t now_ms) {
  auto found = leases_.find(id);
  if (found == leases_.end())
    return failed("lease " + std::to_string(id) + " not found", revision_);
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

std::vector<LeaseId> KvStateMachine::expired_leases(std::int64_t now_ms) const {
  std::vector<LeaseId> out;
  for (const auto& [id, lease] : leases_) {
    if (lease.deadline_ms < now_ms) out.push_back(id);
  }
  return out;
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
  history_.push_back(std::move(event));
  while (history_.size() > history_limit_) {
    // Drop whole revisions, so a watcher never sees half a transaction.
    const Revision dropped = history_.front().kv.mod_revision;
    while (!history_.empty() && history_.front().kv.mod_revision == dropped) history_.pop_front();
    compacted_ = dropped;
  }
}

WatchResult KvStateMachine::events_since(Revision from) const {
  WatchResult result;
  if (from <= compacted_) {
    result.compacted = true;
    result.compact_revision = compacted_ + 1;
    return result;
  }
  for (const auto& event : history_) {
    if (event.kv.mod_revision >= from) result.events.push_back(event);
  }
  return result;
}

std::string KvStateMachine::snapshot() const {
  json::array keys;
  for (const auto& [key, kv] : keys_) keys.push_back(to_json(kv));
  json::array leases;
  for (const auto& [id, lease] : leases_) {
    leases.push_back({{"id", id}, {"ttl_ms", lease.ttl_ms}, {"deadline_ms", lease.deadline_ms}});
  }
  json::array history;
  for (const auto& event : history_) {
    history.push_back(
        {{"type", event.type == Event::Type::put ? "put" : "del"}, {"kv", to_json(event.kv)}});
  }
  return json::serialize(json::object{{"revision", revision_},
                                      {"compacted", compacted_},
                                      {"keys", std::move(keys)},
                                      {"leases", std::move(leases)},
                                      {"history", std::move(history)}});
}

void KvStateMachine::restore(const std::string& bytes) {
  try {
    const auto root = json::parse(bytes);
    KvStateMachine restored(history_limit_);
    restored.revision_ = root.at("revision").to_number<Revision>();
    restored.compacted_ = root.at("compacted").to_number<Revision>();
    for (const auto& lease : root.at("leases").as_array()) {
      restored.leases_[lease.at("id").to_number<LeaseId>()] =
          Lease{lease.at("ttl_ms").to_number<std::int64_t>(),
                lease.at("deadline_ms").to_number<std::int64_t>(),
                {}};
    }
    for (const auto& item : root.at("keys").as_array()) {
      auto kv = kv_from(item);
      if (kv.lease != 0) restored.leases_[kv.lease].keys.insert(kv.key);
      restored.keys_[kv.key] = std::move(kv);
    }
    for (const auto& item : root.at("history").as_array()) {
      restored.history_.push_back(
          Event{item.at("type").as_string() == "put" ? Event::Type::put : Event::Type::del,
                kv_from(item.at("kv"))});
    }
    *this = std::move(restored);
  } catch (const std::exception& error) {
    throw std::invalid_argument(std::string("not a store snapshot: ") + error.what());
  }
}

}  // namespace isla::store
