#pragma once
// The log as one Raft instance sees it: a snapshot boundary, the entries after it, and the
// marks committed / stable (persisted by the application) / applied.
#include <algorithm>
#include <optional>
#include <vector>

#include "consensus/types.hpp"

namespace isla::consensus {

class RaftLog {
 public:
  RaftLog() = default;
  // Restores the state a node persisted: everything given is stable.
  explicit RaftLog(const PersistentState& state);

  Index first_index() const { return snapshot_index_ + 1; }
  Index last_index() const { return snapshot_index_ + entries_.size(); }
  Term last_term() const { return *term(last_index()); }
  // The term of entry `index`; nullopt when compacted away (before the snapshot) or absent.
  std::optional<Term> term(Index index) const;
  bool matches(Index index, Term term) const;
  // Raft §5.4.1: a candidate's log is at least as up to date as ours.
  bool up_to_date(Index last, Term last_term) const;

  // Follower side of an append: checks the previous entry, drops conflicting entries,
  // appends the new ones. Returns the index up to which the log now matches the leader's,
  // or nullopt when the previous entry does not match.
  std::optional<Index> maybe_append(Index prev_index, Term prev_term,
                                    const std::vector<Entry>& entries);
  // Leader side: appends entries numbered and stamped by the caller.
  void append(std::vector<Entry> entries);

  Index committed() const { return committed_; }
  Index applied() const { return applied_; }
  Index stable() const { return stable_; }
  void commit_to(Index index);

  // Entries [from, last], at most `max_count` entries and roughly `max_bytes` (always >= 1).
  std::vector<Entry> slice(Index from, std::size_t max_count, std::size_t max_bytes) const;
  std::vector<Entry> unstable() const;
  // Committed entries that are stable and not yet applied.
  std::vector<Entry> applicable() const;
  bool has_applicable() const { return std::min(committed_, stable_) > applied_; }
  void stable_to(Index index) { stable_ = std::max(stable_, std::min(index, last_index())); }
  void applied_to(Index index) { applied_ = std::max(applied_, index); }

  // Replaces the whole log by a snapshot (installing one from the leader).
  void restore(const Snapshot& snapshot);
  // Drops entries up to `index` after the application took a snapshot there.
  void compact(Index index);
  Term snapshot_term() const { return snapshot_term_; }
  Index snapshot_index() const { return snapshot_index_; }

 private:
  const Entry& at(Index index) const { return entries_[index - snapshot_index_ - 1]; }

  Index snapshot_index_ = 0;
  Term snapshot_term_ = 0;
  std::vector<Entry> entries_;
  Index committed_ = 0;
  Index stable_ = 0;
  Index applied_ = 0;
};

}  // namespace isla::consensus
