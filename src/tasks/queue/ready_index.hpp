#pragma once
// What the dispatcher knows of every task, kept in memory from the store's watch: which
// tasks a worker may take now (by priority, then age), which retries wait for their time,
// which leases run out when, how many of each type run, and how many tasks are in each
// state. Pure: time is an argument. Picks are reserved until released, so two lease
// requests served at once never pick the same task.
#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "tasks/queue/task_record.hpp"

namespace isla::tasks {

using StoreRevision = std::int64_t;

class ReadyIndex {
 public:
  // `max_running(type)`: the type's island-wide limit on running tasks; 0 for none.
  using RunningLimit = std::function<int(std::string_view type)>;

  // A record as the store holds it at `revision`; an older revision than the one held is
  // ignored. A newer one ends the task's reservation: the write its picker made (or another
  // one) has been seen, so the task is judged afresh.
  void upsert(const TaskRecord& record, StoreRevision revision);
  void erase(const std::string& id, StoreRevision revision);
  void clear();

  // Up to `max` tasks a worker may take at `now_ms`, best first, reserved until release().
  std::vector<std::string> pick(std::int64_t now_ms, std::size_t max, const RunningLimit& limit);
  // Running tasks whose lease ran out by `now_ms`, reserved until release().
  std::vector<std::string> expired(std::int64_t now_ms, std::size_t max);
  void release(const std::string& id);

  // When the next delayed retry becomes due or the next lease runs out (for the wake-up).
  std::optional<std::int64_t> next_due() const;
  std::optional<StoreRevision> revision_of(const std::string& id) const;
  std::optional<TaskStatus> status_of(const std::string& id) const;
  std::size_t count(TaskStatus status) const { return counts_[static_cast<int>(status)]; }
  // Tasks a worker could take now: queued, due, not reserved, and not held back by their
  // type's limit on running tasks.
  std::size_t ready_count(std::int64_t now_ms, const RunningLimit& limit = {}) const;
  // Since when the longest-waiting of those has been ready (its submission or retry time).
  std::optional<std::int64_t> oldest_ready_since(std::int64_t now_ms) const;
  int running_of(std::string_view type) const;
  std::size_t size() const { return entries_.size(); }

 private:
  struct Entry {
    TaskStatus status = TaskStatus::queued;
    int priority = 0;
    std::string type;
    std::int64_t not_before_ms = 0;
    std::int64_t lease_until_ms = 0;
    StoreRevision revision = 0;
  };
  // Higher priority first, then older (smaller) ids.
  using ReadyKey = std::pair<int, std::string>;

  void unlink(const std::string& id, const Entry& entry);
  void link(const std::string& id, const Entry& entry);
  void promote_due(std::int64_t now_ms);

  std::unordered_map<std::string, Entry> entries_;
  std::set<ReadyKey> ready_;
  std::multimap<std::int64_t, std::string> delayed_;  // not_before -> queued id
  std::multimap<std::int64_t, std::string> leases_;   // lease_until -> running id
  std::set<std::string> reserved_;
  std::unordered_map<std::string, int> running_by_type_;
  std::array<std::size_t, 5> counts_{};
};

}  // namespace isla::tasks
