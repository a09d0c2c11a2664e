#pragma once

// Linearizability checking of client histories against a sequential key-value store.
//
// The search is Wing & Gong's, with Lowe's memoisation of (linearized set, model state) and
// Porcupine's per-key partitioning: every operation touches exactly one key, and a history is
// linearizable iff each key's sub-history is, so keys are checked independently.

#include <chrono>
#include <cstdint>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

namespace isla::sim {

enum class OpKind { get, put, del, cas };

struct KvInput {
  OpKind kind;
  std::string key;
  std::string value;                    // put/cas: the new value
  std::optional<std::string> expected;  // cas: required current value; nullopt = must be absent
};

struct KvOutput {
  bool ok = true;                    // cas: whether it swapped; ignored for other kinds
  std::optional<std::string> value;  // get: what was read; nullopt = absent
};

// `call` and `ret` are any monotonic clock (simulated ticks, ns). Operation A precedes B in
// real time only if A.ret < B.call: equal timestamps count as concurrent, as in Porcupine, so a
// clock too coarse to separate a client's consecutive operations can hide violations but never
// invent them.
//
// `unknown` marks an operation whose client never learnt the outcome (timeout, crash): it may
// take effect at any point after `call`, or never, so `ret` and `output` are ignored.
struct Operation {
  int client;
  std::int64_t call;
  std::int64_t ret;
  KvInput input;
  KvOutput output;
  bool unknown = false;
};

struct CheckResult {
  enum class Verdict { ok, violation, timed_out } verdict;
  // For violations: the key and operations of the smallest non-linearizable partition.
  std::string explanation;
};

// Throws std::invalid_argument if an operation with a known outcome returns before its call.
// Never answers ok unless every key was fully checked within `budget`.
CheckResult check_kv_history(const std::vector<Operation>& history,
                             std::chrono::milliseconds budget);

std::string describe(const Operation& operation);
std::ostream& operator<<(std::ostream& out, CheckResult::Verdict verdict);

}  // namespace isla::sim
