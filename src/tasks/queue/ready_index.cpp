#include "tasks/queue/ready_index.hpp"

namespace isla::tasks {

namespace {

void erase_pair(std::multimap<std::int64_t, std::string>& map, std::int64_t at,
                const std::string& id) {
  auto [first, last] = map.equal_range(at);
  for (auto it = first; it != last; ++it) {
    if (it->second == id) {
      map.erase(it);
      return;
    }
  }
}

}  // namespace

void ReadyIndex::unlink(const std::string& id, const Entry& entry) {
  --counts_[static_cast<int>(entry.status)];
  if (entry.status == TaskStatus::queued) {
    ready_.erase({-entry.priority, id});
    erase_pair(delayed_, entry.not_before_ms, id);
  } else if (entry.status == TaskStatus::running) {
    erase_pair(leases_, entry.lease_until_ms, id);
    if (--running_by_type_[entry.type] <= 0) running_by_type_.erase(entry.type);
  }
}

void ReadyIndex::link(const std::string& id, const Entry& entry) {
  ++counts_[static_cast<int>(entry.status)];
  if (entry.status == TaskStatus::queued) {
    // Delayed until promote_due() finds it due; a task due already is promoted at the next pick.
    delayed_.emplace(entry.not_before_ms, id);
  } else if (entry.status == TaskStatus::running) {
    leases_.emplace(entry.lease_until_ms, id);
    ++running_by_type_[entry.type];
  }
}

void ReadyIndex::upsert(const TaskRecord& record, StoreRevision revision) {
  auto found = entries_.find(record.id);
  if (found != entries_.end()) {
    if (found->second.revision >= revision) return;
    unlink(found->first, found->second);
    reserved_.erase(record.id);
  } else {
    found = entries_.emplace(record.id, Entry{}).first;
  }
  Entry& entry = found->second;
  entry = Entry{record.status,        record.priority,       record.type,
                record.not_before_ms, record.lease_until_ms, revision};
  link(found->first, entry);
}

void ReadyIndex::erase(const std::string& id, StoreRevision revision) {
  auto found = entries_.find(id);
  if (found == entries_.end() || found->second.revision >= revision) return;
  unlink(id, found->second);
  reserved_.erase(id);
  entries_.erase(found);
}

void ReadyIndex::clear() {
  *this = ReadyIndex{};
}

void ReadyIndex::promote_due(std::int64_t now_ms) {
  while (!delayed_.empty() && delayed_.begin()->first <= now_ms) {
    const std::string& id = delayed_.begin()->second;
    ready_.insert({-entries_.at(id).priority, id});
    delayed_.erase(delayed_.begin());
  }
}

std::vector<std::string> ReadyIndex::pick(std::int64_t now_ms, std::size_t max,
                                          const RunningLimit& limit) {
  promote_due(now_ms);
  std::vector<std::string> picked;
  // Tasks reserved by earlier picks whose leases are not back yet are about to run too.
  std::unordered_map<std::string, int> picked_by_type;
  for (const auto& id : reserved_) {
    const Entry& entry = entries_.at(id);
    if (entry.status == TaskStatus::queued) ++picked_by_type[entry.type];
  }
  for (const auto& [priority, id] : ready_) {
    if (picked.size() >= max) break;
    if (reserved_.contains(id)) continue;
    const Entry& entry = entries_.at(id);
    const int cap = limit ? limit(entry.type) : 0;
    if (cap > 0) {
      int& taken = picked_by_type[entry.type];
      if (running_of(entry.type) + taken >= cap) continue;
      ++taken;
    }
    picked.push_back(id);
  }
  for (const auto& id : picked) reserved_.insert(id);
  return picked;
}

std::vector<std::string> ReadyIndex::expired(std::int64_t now_ms, std::size_t max) {
  std::vector<std::string> found;
  for (const auto& [until, id] : leases_) {
    if (until >= now_ms || found.size() >= max) break;
    if (reserved_.contains(id)) continue;
    found.push_back(id);
  }
  for (const auto& id : found) reserved_.insert(id);
  return found;
}

void ReadyIndex::release(const std::string& id) {
  reserved_.erase(id);
}

std::optional<std::int64_t> ReadyIndex::next_due() const {
  std::optional<std::int64_t> due;
  if (!delayed_.empty()) due = delayed_.begin()->first;
  if (!leases_.empty()) {
    // A lease is expired once its deadline is strictly past.
    const std::int64_t expiry = leases_.begin()->first + 1;
    if (!due || expiry < *due) due = expiry;
  }
  return due;
}

std::optional<StoreRevision> ReadyIndex::revision_of(const std::string& id) const {
  auto found = entries_.find(id);
  if (found == entries_.end()) return std::nullopt;
  return found->second.revision;
}

std::optional<TaskStatus> ReadyIndex::status_of(const std::string& id) const {
  auto found = entries_.find(id);
  if (found == entries_.end()) return std::nullopt;
  return found->second.status;
}

std::size_t ReadyIndex::ready_count(std::int64_t now_ms, const RunningLimit& limit) const {
  std::size_t count = 0;
  std::unordered_map<std::string, int> room;  // per limited type: how many more may run
  const auto admit = [&](const std::string& id) {
    if (reserved_.contains(id)) return;
    const Entry& entry = entries_.at(id);
    const int cap = limit ? limit(entry.type) : 0;
    if (cap > 0) {
      auto [it, added] = room.try_emplace(entry.type, cap - running_of(entry.type));
      if (it->second <= 0) return;
      --it->second;
    }
    ++count;
  };
  for (const auto& key : ready_) admit(key.second);
  for (const auto& [at, id] : delayed_) {
    if (at > now_ms) break;
    admit(id);
  }
  return count;
}

std::optional<std::int64_t> ReadyIndex::oldest_ready_since(std::int64_t now_ms) const {
  std::optional<std::int64_t> oldest;
  const auto consider = [&](const std::string& id) {
    if (reserved_.contains(id)) return;
    // The id starts with the submission time (make_task_id); a retry is ready from its time.
    const auto submitted = static_cast<std::int64_t>(std::stoull(id.substr(0, 12), nullptr, 16));
    const std::int64_t since = std::max(submitted, entries_.at(id).not_before_ms);
    if (!oldest || since < *oldest) oldest = since;
  };
  for (const auto& key : ready_) consider(key.second);
  for (const auto& [at, id] : delayed_) {
    if (at > now_ms) break;
    consider(id);
  }
  return oldest;
}

int ReadyIndex::running_of(std::string_view type) const {
  auto found = running_by_type_.find(std::string(type));
  return found == running_by_type_.end() ? 0 : found->second;
}

}  // namespace isla::tasks
