#include "sim/linearizability.hpp"

#include <algorithm>
#include <bit>
#include <cstddef>
#include <limits>
#include <map>
#include <sstream>
#include <stdexcept>
#include <tuple>
#include <unordered_map>
#include <utility>

namespace isla::sim {
namespace {

using Clock = std::chrono::steady_clock;
using Verdict = CheckResult::Verdict;

// Unknown operations may take effect arbitrarily late, which is what returning last means.
constexpr std::int64_t kNeverReturned = std::numeric_limits<std::int64_t>::max();
constexpr int kAbsent = -1;
// Reading the clock on every step would dominate the search; this much work takes microseconds.
constexpr std::uint64_t kWorkBetweenClockReads = 4096;
// Keeps violation reports readable when a large partition fails.
constexpr std::size_t kMaxListedOperations = 60;

std::uint64_t mix(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

Clock::time_point deadline_after(std::chrono::milliseconds budget) {
  const auto now = Clock::now();
  if (budget <= std::chrono::milliseconds::zero()) return now;
  // Compared in milliseconds because converting a huge budget to the clock's unit overflows.
  const auto headroom =
      std::chrono::floor<std::chrono::milliseconds>(Clock::time_point::max() - now);
  return budget >= headroom ? Clock::time_point::max() : now + budget;
}

// Work is counted in search steps plus cache comparisons, since a single step can scan many
// cached configurations; counting steps alone overshot budgets by seconds.
class Deadline {
 public:
  explicit Deadline(Clock::time_point at) : at_(at) {}

  bool passed(std::uint64_t work_done) {
    if (work_done < next_clock_read_) return false;
    next_clock_read_ = work_done + kWorkBetweenClockReads;
    return Clock::now() >= at_;
  }

 private:
  Clock::time_point at_;
  std::uint64_t next_clock_read_ = 0;
};

// Values are interned per partition so the search compares and hashes ints, not strings.
class ValueIds {
 public:
  int of(const std::string& value) {
    return ids_.try_emplace(value, static_cast<int>(ids_.size())).first->second;
  }
  int of(const std::optional<std::string>& value) { return value ? of(*value) : kAbsent; }

 private:
  std::unordered_map<std::string, int> ids_;
};

struct ModelOp {
  OpKind kind;
  int new_value;  // put, cas
  int expected;   // cas
  int read;       // get
  bool swapped;   // cas
  bool unknown;
  // The unknown op with the same effect called just before this one, if any; see
  // LinearizationSearch::may_linearize.
  int earlier_twin = -1;
};

ModelOp to_model_op(const Operation& operation, ValueIds& ids) {
  const KvInput& in = operation.input;
  return ModelOp{in.kind,
                 in.kind == OpKind::put || in.kind == OpKind::cas ? ids.of(in.value) : kAbsent,
                 in.kind == OpKind::cas ? ids.of(in.expected) : kAbsent,
                 in.kind == OpKind::get ? ids.of(operation.output.value) : kAbsent,
                 operation.output.ok,
                 operation.unknown};
}

// `ops` must be in call order.
void link_interchangeable_unknowns(std::vector<ModelOp>& ops) {
  std::map<std::tuple<OpKind, int, int>, int> latest_with_effect;
  for (std::size_t i = 0; i < ops.size(); ++i) {
    ModelOp& op = ops[i];
    if (!op.unknown) continue;
    auto [it, first_of_its_kind] =
        latest_with_effect.try_emplace({op.kind, op.new_value, op.expected}, static_cast<int>(i));
    if (!first_of_its_kind) op.earlier_twin = std::exchange(it->second, static_cast<int>(i));
  }
}

// The sequential specification: the register's value after `op`, or nullopt if `op`'s observed
// output cannot happen from `state`. An unknown op's output was never observed, so it always fits.
std::optional<int> apply(int state, const ModelOp& op) {
  switch (op.kind) {
    case OpKind::get:
      if (op.unknown || op.read == state) return state;
      return std::nullopt;
    case OpKind::put:
      return op.new_value;
    case OpKind::del:
      return kAbsent;
    case OpKind::cas: {
      const bool swaps = state == op.expected;
      if (!op.unknown && swaps != op.swapped) return std::nullopt;
      return swaps ? op.new_value : state;
    }
  }
  return std::nullopt;
}

class OpSet {
 public:
  explicit OpSet(std::size_t size) : words_((size + 63) / 64, 0) {}

  void flip(int op) { words_[static_cast<std::size_t>(op) / 64] ^= std::uint64_t{1} << (op % 64); }
  bool contains(int op) const {
    return (words_[static_cast<std::size_t>(op) / 64] >> (op % 64)) & 1;
  }
  const std::vector<std::uint64_t>& words() const { return words_; }

 private:
  std::vector<std::uint64_t> words_;
};

// Lowe's memoisation: two search paths that linearized the same operations and reached the same
// model state have identical futures, so only the first needs exploring. Generalised to unknown
// ops, whose linearization is optional: a configuration with the same known ops and state but
// only a subset of the unknown ops can do everything this one can, so it subsumes it. Without the
// generalisation, cycles of unknown writes returning to an earlier state multiply configurations.
class SeenConfigurations {
 public:
  explicit SeenConfigurations(OpSet unknown_ops) : unknown_ops_(std::move(unknown_ops)) {}

  struct State {
    int value;
    bool awaiting_observer;  // a configuration free of this constraint can do more
  };

  // Records the configuration; false if a recorded one subsumes it. `known_hash` must identify
  // the known ops in `linearized`.
  bool insert(const OpSet& linearized, std::uint64_t known_hash, State state) {
    std::vector<Configuration>& candidates =
        by_known_part_[mix(known_hash ^ mix(static_cast<std::uint64_t>(state.value)))];
    const std::uint64_t signature = unknown_signature(linearized);
    comparisons_ += candidates.size();
    for (const Configuration& seen : candidates) {
      if (seen.state.value == state.value &&
          (!seen.state.awaiting_observer || state.awaiting_observer) &&
          (seen.unknown_signature & ~signature) == 0 && subsumes(seen.words_offset, linearized)) {
        return false;
      }
    }
    candidates.push_back({signature, state, words_.size()});
    words_.insert(words_.end(), linearized.words().begin(), linearized.words().end());
    return true;
  }

  std::uint64_t comparisons() const { return comparisons_; }

 private:
  // Sets live in one arena, and candidates sharing known ops and state in one vector, because
  // scanning candidates for subsumption is the search's hot loop.
  struct Configuration {
    std::uint64_t unknown_signature;
    State state;
    std::size_t words_offset;
  };

  // Folds the unknown ops into one word such that a subset's signature is a subset of the
  // superset's, which rejects most non-subsuming candidates without touching their sets.
  std::uint64_t unknown_signature(const OpSet& linearized) const {
    std::uint64_t signature = 0;
    const auto& unknown = unknown_ops_.words();
    for (std::size_t i = 0; i < unknown.size(); ++i) {
      signature |= std::rotl(linearized.words()[i] & unknown[i], static_cast<int>(i % 64));
    }
    return signature;
  }

  // The seen set is contained in `now`, and what only `now` has linearized is all unknown ops.
  bool subsumes(std::size_t seen_offset, const OpSet& now) const {
    const auto& unknown = unknown_ops_.words();
    for (std::size_t i = 0; i < unknown.size(); ++i) {
      const std::uint64_t seen = words_[seen_offset + i];
      const std::uint64_t now_only = now.words()[i] & ~seen;
      if ((seen & ~now.words()[i]) != 0 || (now_only & ~unknown[i]) != 0) return false;
    }
    return true;
  }

  OpSet unknown_ops_;
  std::unordered_map<std::uint64_t, std::vector<Configuration>> by_known_part_;
  std::vector<std::uint64_t> words_;
  std::uint64_t comparisons_ = 0;
};

struct Window {
  std::int64_t call;
  std::int64_t ret;
};

// Call and return events in time order, as a doubly linked list so that linearizing an operation
// (lift) and undoing it (unlift) are O(1). Node 0 is a sentinel head.
class EventList {
 public:
  explicit EventList(const std::vector<Window>& windows) : nodes_(1 + 2 * windows.size()) {
    const auto order = events_in_time_order(windows);
    std::vector<int> call_node(windows.size());
    for (std::size_t i = 0; i < order.size(); ++i) {
      const int node = static_cast<int>(i) + 1;
      const auto [op, is_call] = order[i];
      nodes_[node] = Node{op, is_call, -1, node - 1, i + 1 < order.size() ? node + 1 : -1};
      if (is_call) {
        call_node[op] = node;
      } else {
        nodes_[call_node[op]].return_node = node;
      }
    }
    nodes_[0].next = order.empty() ? -1 : 1;
  }

  int first() const { return nodes_[0].next; }
  int next(int node) const { return nodes_[node].next; }
  bool is_call(int node) const { return nodes_[node].is_call; }
  int op(int node) const { return nodes_[node].op; }

  void lift(int call) {
    unlink(call);
    unlink(nodes_[call].return_node);
  }
  // Must undo lifts in reverse order, which the search's stack guarantees.
  void unlift(int call) {
    relink(nodes_[call].return_node);
    relink(call);
  }

 private:
  struct Node {
    int op = -1;
    bool is_call = false;
    int return_node = -1;
    int prev = -1;
    int next = -1;
  };

  // Calls sort before returns at equal times, so touching windows count as concurrent.
  static std::vector<std::pair<int, bool>> events_in_time_order(
      const std::vector<Window>& windows) {
    std::vector<std::tuple<std::int64_t, bool, int>> events;
    for (std::size_t op = 0; op < windows.size(); ++op) {
      events.emplace_back(windows[op].call, false, static_cast<int>(op));
      events.emplace_back(windows[op].ret, true, static_cast<int>(op));
    }
    std::sort(events.begin(), events.end());
    std::vector<std::pair<int, bool>> order;
    for (const auto& [time, is_return, op] : events) order.emplace_back(op, !is_return);
    return order;
  }

  void unlink(int node) {
    const Node& n = nodes_[node];
    nodes_[n.prev].next = n.next;
    if (n.next != -1) nodes_[n.next].prev = n.prev;
  }
  void relink(int node) {
    const Node& n = nodes_[node];
    nodes_[n.prev].next = node;
    if (n.next != -1) nodes_[n.next].prev = node;
  }

  std::vector<Node> nodes_;
};

enum class SearchVerdict { linearizable, not_linearizable, out_of_time };

struct SearchOutcome {
  SearchVerdict verdict;
  std::vector<int> longest_linearized_prefix;  // indices into the searched ops
};

// Wing & Gong's depth-first search: repeatedly linearize some pending call that precedes every
// pending return; meeting a return means that op was skipped, so backtrack.
//
// Each configuration's candidates are tried in two passes, known ops before unknown ones, so the
// configurations that use fewer unknown ops are reached first and subsume the rest.
class LinearizationSearch {
 public:
  LinearizationSearch(std::vector<ModelOp> ops, const std::vector<Window>& windows,
                      Clock::time_point deadline)
      : ops_(std::move(ops)),
        events_(windows),
        linearized_(ops_.size()),
        seen_(unknown_ops(ops_)),
        deadline_(deadline) {
    for (const ModelOp& op : ops_) unlinearized_known_ += op.unknown ? 0 : 1;
  }

  SearchOutcome run() {
    std::uint64_t steps = 0;
    Cursor cursor = start_of_pass(false);
    // Unknown ops left over can all be taken never to have happened.
    while (unlinearized_known_ > 0) {
      if (deadline_.passed(++steps + seen_.comparisons())) {
        return finish(SearchVerdict::out_of_time);
      }
      if (events_.is_call(cursor.node)) {
        const bool in_pass = ops_[events_.op(cursor.node)].unknown == cursor.unknown_pass;
        cursor = in_pass && try_linearize(cursor.node)
                     ? start_of_pass(false)
                     : Cursor{events_.next(cursor.node), cursor.unknown_pass};
      } else if (!cursor.unknown_pass) {
        cursor = start_of_pass(true);
      } else if (stack_.empty()) {
        return finish(SearchVerdict::not_linearizable);
      } else {
        const int undone = backtrack();
        cursor = {events_.next(undone), ops_[events_.op(undone)].unknown};
      }
    }
    return finish(SearchVerdict::linearizable);
  }

 private:
  struct Cursor {
    int node;
    bool unknown_pass;
  };

  Cursor start_of_pass(bool unknown_pass) const { return {events_.first(), unknown_pass}; }

  struct Linearized {
    int call_node;
    int state_before;
    bool awaiting_observer_before;
  };

  // Linearizing unknown ops is optional, so each one doubles the search space unless pruned. These
  // prunings lose no linearization, as any one can be rewritten to obey them all:
  //  - an unknown op that would not change the state is left out, as if it never happened;
  //  - so is one whose effect the next op overwrites unseen, so the next op must observe it;
  //  - unknown ops with the same effect are used in call order: swapping a later-called one for
  //    an earlier-called unused twin keeps every effect inside its window.
  // They depend only on the configuration the cache records, so they keep memoisation sound.
  bool may_linearize(const ModelOp& op, int state_after) const {
    if (awaiting_observer_ && !observes_state(op)) return false;
    if (!op.unknown) return true;
    if (state_after == state_) return false;
    return op.earlier_twin == -1 || linearized_.contains(op.earlier_twin);
  }

  static bool observes_state(const ModelOp& op) {
    return op.kind == OpKind::get || op.kind == OpKind::cas;
  }

  bool try_linearize(int call_node) {
    const int op = events_.op(call_node);
    const std::optional<int> state_after = apply(state_, ops_[op]);
    if (!state_after || !may_linearize(ops_[op], *state_after)) return false;
    flip_linearized(op);
    if (!seen_.insert(linearized_, known_hash_, {*state_after, ops_[op].unknown})) {
      flip_linearized(op);
      return false;
    }
    stack_.push_back({call_node, state_, awaiting_observer_});
    state_ = *state_after;
    awaiting_observer_ = ops_[op].unknown;
    unlinearized_known_ -= ops_[op].unknown ? 0 : 1;
    events_.lift(call_node);
    remember_if_longest();
    return true;
  }

  // Returns the call node it undid, so the search resumes with the alternatives after it.
  int backtrack() {
    const Linearized last = stack_.back();
    stack_.pop_back();
    state_ = last.state_before;
    awaiting_observer_ = last.awaiting_observer_before;
    const int op = events_.op(last.call_node);
    unlinearized_known_ += ops_[op].unknown ? 0 : 1;
    flip_linearized(op);
    events_.unlift(last.call_node);
    return last.call_node;
  }

  // Keeps a Zobrist hash of the known ops alongside, so probing the cache costs O(1) to hash.
  void flip_linearized(int op) {
    linearized_.flip(op);
    if (!ops_[op].unknown) known_hash_ ^= mix(static_cast<std::uint64_t>(op));
  }

  static OpSet unknown_ops(const std::vector<ModelOp>& ops) {
    OpSet unknown(ops.size());
    for (std::size_t op = 0; op < ops.size(); ++op) {
      if (ops[op].unknown) unknown.flip(static_cast<int>(op));
    }
    return unknown;
  }

  void remember_if_longest() {
    if (stack_.size() <= longest_.size()) return;
    longest_.clear();
    for (const Linearized& entry : stack_) longest_.push_back(events_.op(entry.call_node));
  }

  SearchOutcome finish(SearchVerdict verdict) { return {verdict, std::move(longest_)}; }

  std::vector<ModelOp> ops_;
  EventList events_;
  OpSet linearized_;
  std::uint64_t known_hash_ = 0;
  SeenConfigurations seen_;
  std::vector<Linearized> stack_;
  std::vector<int> longest_;
  int state_ = kAbsent;
  bool awaiting_observer_ = false;  // the last op linearized was unknown
  std::size_t unlinearized_known_ = 0;
  Deadline deadline_;
};

struct Partition {
  std::string key;
  std::vector<std::size_t> history_indices;  // in call order
};

// Smallest first: the first violation found is then the smallest one to report.
std::vector<Partition> partition_by_key(const std::vector<Operation>& history) {
  std::map<std::string, std::vector<std::size_t>> by_key;
  for (std::size_t i = 0; i < history.size(); ++i) {
    const Operation& operation = history[i];
    // An unanswered get changes nothing and constrains nothing.
    if (operation.unknown && operation.input.kind == OpKind::get) continue;
    by_key[operation.input.key].push_back(i);
  }
  std::vector<Partition> partitions;
  for (auto& [key, indices] : by_key) {
    std::stable_sort(indices.begin(), indices.end(), [&](std::size_t a, std::size_t b) {
      return history[a].call < history[b].call;
    });
    partitions.push_back({key, std::move(indices)});
  }
  std::stable_sort(partitions.begin(), partitions.end(), [](const auto& a, const auto& b) {
    return a.history_indices.size() < b.history_indices.size();
  });
  return partitions;
}

SearchOutcome search_partition(const std::vector<Operation>& history, const Partition& partition,
                               Clock::time_point deadline) {
  ValueIds ids;
  std::vector<ModelOp> ops;
  std::vector<Window> windows;
  for (const std::size_t index : partition.history_indices) {
    const Operation& operation = history[index];
    ops.push_back(to_model_op(operation, ids));
    windows.push_back({operation.call, operation.unknown ? kNeverReturned : operation.ret});
  }
  link_interchangeable_unknowns(ops);
  return LinearizationSearch(std::move(ops), windows, deadline).run();
}

void require_well_formed(const std::vector<Operation>& history) {
  for (std::size_t i = 0; i < history.size(); ++i) {
    const Operation& operation = history[i];
    if (!operation.unknown && operation.ret < operation.call) {
      throw std::invalid_argument("operation " + std::to_string(i) +
                                  " returns before its call: " + describe(operation));
    }
  }
}

std::string quoted(const std::optional<std::string>& value) {
  return value ? "\"" + *value + "\"" : "absent";
}

std::string explain_violation(const std::vector<Operation>& history, const Partition& partition,
                              const std::vector<int>& longest_prefix) {
  const auto& indices = partition.history_indices;
  std::ostringstream out;
  out << "key " << quoted(partition.key) << ": its " << indices.size()
      << " operations admit no linearization; the longest partial one found is [";
  for (std::size_t i = 0; i < longest_prefix.size(); ++i) {
    out << (i == 0 ? "" : ", ") << "op " << indices[static_cast<std::size_t>(longest_prefix[i])];
  }
  out << "]\n";
  for (std::size_t i = 0; i < indices.size() && i < kMaxListedOperations; ++i) {
    out << "  op " << indices[i] << ": " << describe(history[indices[i]]) << "\n";
  }
  if (indices.size() > kMaxListedOperations) {
    out << "  ... and " << indices.size() - kMaxListedOperations << " more\n";
  }
  return out.str();
}

}  // namespace

CheckResult check_kv_history(const std::vector<Operation>& history,
                             std::chrono::milliseconds budget) {
  require_well_formed(history);
  const auto deadline = deadline_after(budget);
  const auto partitions = partition_by_key(history);
  for (std::size_t checked = 0; checked < partitions.size(); ++checked) {
    const Partition& partition = partitions[checked];
    const SearchOutcome outcome = Clock::now() >= deadline
                                      ? SearchOutcome{SearchVerdict::out_of_time, {}}
                                      : search_partition(history, partition, deadline);
    if (outcome.verdict == SearchVerdict::not_linearizable) {
      return {Verdict::violation,
              explain_violation(history, partition, outcome.longest_linearized_prefix)};
    }
    if (outcome.verdict == SearchVerdict::out_of_time) {
      return {Verdict::timed_out, "budget of " + std::to_string(budget.count()) +
                                      " ms exhausted on key " + quoted(partition.key) +
                                      " after fully checking " + std::to_string(checked) + " of " +
                                      std::to_string(partitions.size()) + " keys"};
    }
  }
  return {Verdict::ok, std::to_string(history.size()) + " operations on " +
                           std::to_string(partitions.size()) + " keys are linearizable"};
}

std::string describe(const Operation& operation) {
  std::ostringstream out;
  out << "client " << operation.client << ", [" << operation.call << ", "
      << (operation.unknown ? std::string("?") : std::to_string(operation.ret)) << "]: ";
  const KvInput& in = operation.input;
  const bool answered = !operation.unknown;
  switch (in.kind) {
    case OpKind::get:
      out << "get " << quoted(in.key);
      if (answered) out << " -> " << quoted(operation.output.value);
      break;
    case OpKind::put:
      out << "put " << quoted(in.key) << " = " << quoted(in.value);
      break;
    case OpKind::del:
      out << "del " << quoted(in.key);
      break;
    case OpKind::cas:
      out << "cas " << quoted(in.key) << " from " << quoted(in.expected) << " to "
          << quoted(in.value);
      if (answered) out << (operation.output.ok ? " -> swapped" : " -> failed");
      break;
  }
  if (!answered) out << " (outcome unknown)";
  return out.str();
}

std::ostream& operator<<(std::ostream& out, CheckResult::Verdict verdict) {
  switch (verdict) {
    case Verdict::ok:
      return out << "ok";
    case Verdict::violation:
      return out << "violation";
    case Verdict::timed_out:
      return out << "timed_out";
  }
  return out << "?";
}

}  // namespace isla::sim
