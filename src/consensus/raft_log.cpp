#include "consensus/raft_log.hpp"

#include <algorithm>
#include <stdexcept>

namespace isla::consensus {

RaftLog::RaftLog(const PersistentState& state) {
  if (state.snapshot) {
    snapshot_index_ = state.snapshot->index;
    snapshot_term_ = state.snapshot->term;
  }
  for (const auto& entry : state.entries) {
    if (entry.index <= snapshot_index_) continue;
    if (entry.index != last_index() + 1) {
      throw std::invalid_argument("persisted entries are not contiguous at index " +
                                  std::to_string(entry.index));
    }
    entries_.push_back(entry);
  }
  stable_ = last_index();
  committed_ = std::clamp(state.hard_state.commit, snapshot_index_, last_index());
  applied_ = snapshot_index_;
}

std::optional<Term> RaftLog::term(Index index) const {
  if (index == snapshot_index_) return snapshot_term_;
  if (index < snapshot_index_ || index > last_index()) return std::nullopt;
  return at(index).term;
}

bool RaftLog::matches(Index index, Term expected) const {
  auto actual = term(index);
  return actual && *actual == expected;
}

bool RaftLog::up_to_date(Index last, Term candidate_last_term) const {
  return candidate_last_term > last_term() ||
         (candidate_last_term == last_term() && last >= last_index());
}

std::optional<Index> RaftLog::maybe_append(Index prev_index, Term prev_term,
                                           const std::vector<Entry>& entries) {
  if (prev_index < snapshot_index_) {
    // The leader sent what our snapshot already covers; skip to the part after it.
    std::vector<Entry> rest;
    for (const auto& entry : entries) {
      if (entry.index > snapshot_index_) rest.push_back(entry);
    }
    if (rest.empty()) return std::max(snapshot_index_, prev_index + entries.size());
    return maybe_append(snapshot_index_, snapshot_term_, rest);
  }
  if (!matches(prev_index, prev_term)) return std::nullopt;
  for (const auto& entry : entries) {
    if (entry.index <= last_index()) {
      if (at(entry.index).term == entry.term) continue;
      if (entry.index <= committed_) {
        throw std::logic_error("raft: conflict with committed entry " +
                               std::to_string(entry.index));
      }
      entries_.resize(entry.index - snapshot_index_ - 1);
      stable_ = std::min(stable_, entry.index - 1);
    }
    entries_.push_back(entry);
  }
  return prev_index + entries.size();
}

void RaftLog::append(std::vector<Entry> entries) {
  for (auto& entry : entries) entries_.push_back(std::move(entry));
}

void RaftLog::commit_to(Index index) {
  if (index <= committed_) return;
  if (index > last_index()) {
    throw std::logic_error("raft: commit " + std::to_string(index) + " beyond last index " +
                           std::to_string(last_index()));
  }
  committed_ = index;
}

std::vector<Entry> RaftLog::slice(Index from, std::size_t max_count, std::size_t max_bytes) const {
  std::vector<Entry> out;
  std::size_t bytes = 0;
  for (Index i = std::max(from, first_index()); i <= last_index(); ++i) {
    const auto& entry = at(i);
    if (!out.empty() && (out.size() >= max_count || bytes + entry.data.size() > max_bytes)) break;
    bytes += entry.data.size();
    out.push_back(entry);
  }
  return out;
}

std::vector<Entry> RaftLog::unstable() const {
  std::vector<Entry> out;
  for (Index i = std::max(stable_ + 1, first_index()); i <= last_index(); ++i) {
    out.push_back(at(i));
  }
  return out;
}

std::vector<Entry> RaftLog::applicable() const {
  std::vector<Entry> out;
  const Index upto = std::min(committed_, stable_);
  for (Index i = std::max(applied_ + 1, first_index()); i <= upto; ++i) out.push_back(at(i));
  return out;
}

void RaftLog::restore(const Snapshot& snapshot) {
  entries_.clear();
  snapshot_index_ = snapshot.index;
  snapshot_term_ = snapshot.term;
  committed_ = snapshot.index;
  stable_ = snapshot.index;
  applied_ = snapshot.index;
}

void RaftLog::compact(Index index) {
  if (index <= snapshot_index_) return;
  if (index > applied_) {
    throw std::logic_error("raft: compacting beyond the applied index " + std::to_string(applied_));
  }
  snapshot_term_ = *term(index);
  entries_.erase(entries_.begin(),
                 entries_.begin() + static_cast<std::ptrdiff_t>(index - snapshot_index_));
  snapshot_index_ = index;
}

}  // namespace isla::consensus
