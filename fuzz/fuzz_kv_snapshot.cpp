// Fuzzes KvStateMachine::restore (store/kv_state_machine.hpp) on arbitrary bytes. It must
// either throw std::invalid_argument and leave the machine as it was, or succeed; after a
// success:
//  - snapshot() must be canonical: restoring it into a fresh machine and snapshotting again
//    gives the same bytes;
//  - the machine restored from the input and the one restored from its snapshot must be the
//    same state machine: the same reads now, and the same results and snapshots after the
//    same commands (revoking every lease, keep-alives, a put, a delete of everything), so
//    nothing restore() keeps is missing from the snapshot.
// Small history bounds (events and bytes), so that restore() and the commands after it make
// the history drop revisions; reads include watches a page at a time.
//
// It found, and now guards against: a key listed twice (left in the wrong lease), values at
// the edge of int64 that later sums overflowed, and keys that were not UTF-8 (snapshots were
// JSON then; they are binary now).
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#include "invariant.hpp"
#include "store/kv_state_machine.hpp"

namespace store = isla::store;

namespace {

constexpr std::size_t kHistoryLimit = 4;
constexpr std::size_t kHistoryBytes = 1024;
constexpr std::int64_t kNow = 1'000;  // the clock the lease commands after a restore carry

bool same(const store::WatchResult& a, const store::WatchResult& b) {
  return a.events == b.events && a.compacted == b.compacted &&
         a.compact_revision == b.compact_revision && a.next == b.next && a.more == b.more;
}

void check_same_reads(const store::KvStateMachine& a, const store::KvStateMachine& b,
                      const char* when) {
  if (a.revision() != b.revision()) {
    std::fprintf(stderr, "%s\n", when);
    fail("revision differs from the machine restored from the snapshot");
  }
  const auto all = a.range("");
  if (all != b.range("")) {
    std::fprintf(stderr, "%s\n", when);
    fail("range(\"\") differs from the machine restored from the snapshot");
  }
  for (const auto& kv : all) {
    if (a.get(kv.key) != kv) fail("get(key) disagrees with range(\"\")");
  }
  const store::Revision now = a.revision();
  const store::Revision next = now == std::numeric_limits<store::Revision>::max() ? now : now + 1;
  for (const store::Revision from : {store::Revision{0}, store::Revision{1}, now, next}) {
    if (!same(a.events_since(from), b.events_since(from)) ||
        !same(a.events_since(from, "f", 1, 200), b.events_since(from, "f", 1, 200))) {
      std::fprintf(stderr, "%s: events_since(%lld)\n", when, static_cast<long long>(from));
      fail("events_since differs from the machine restored from the snapshot");
    }
  }
  if (a.history_bytes() != b.history_bytes()) {
    std::fprintf(stderr, "%s\n", when);
    fail("history_bytes differs from the machine restored from the snapshot");
  }
  if (a.snapshot() != b.snapshot()) {
    std::fprintf(stderr, "%s\n", when);
    fail("snapshots differ");
  }
}

std::size_t deleted_keys(const store::TxnResult& result) {
  std::size_t deleted = 0;
  for (const auto& op : result.results) deleted += static_cast<std::size_t>(op.deleted);
  return deleted;
}

template <typename Command>
void run_on_both(store::KvStateMachine& a, store::KvStateMachine& b, Command command,
                 const std::string& what) {
  const std::string before_a = a.snapshot();
  const store::TxnResult from_a = command(a);
  const store::TxnResult from_b = command(b);
  if (from_a != from_b) {
    std::fprintf(stderr,
                 "%s: on the input's machine succeeded=%d deleted %zu key(s), error \"%s\"; on "
                 "its snapshot's machine succeeded=%d deleted %zu key(s), error \"%s\"\n"
                 "state before: %s\n",
                 what.c_str(), from_a.succeeded, deleted_keys(from_a), from_a.error.c_str(),
                 from_b.succeeded, deleted_keys(from_b), from_b.error.c_str(), before_a.c_str());
    fail("the same command gave different results on the two restored machines");
  }
  check_same_reads(a, b, what.c_str());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string bytes(reinterpret_cast<const char*>(data), size);

  // A machine that already holds something, so a failed restore has state to keep.
  store::KvStateMachine a(kHistoryLimit, kHistoryBytes);
  a.grant_lease(7, 5'000, 1'000);
  a.apply(store::Txn{{}, {{store::RequestOp::Kind::put, "held", "v", 0}}, {}});
  a.apply(store::Txn{{}, {{store::RequestOp::Kind::put, "leased", "w", 7}}, {}});
  const std::string before = a.snapshot();

  try {
    a.restore(bytes);
  } catch (const std::invalid_argument&) {
    if (a.snapshot() != before) fail("a failed restore changed the machine");
    return 0;
  } catch (const std::exception& error) {
    std::fprintf(stderr, "restore threw: %s\n", error.what());
    fail("restore threw something other than std::invalid_argument");
  }

  const std::string first = a.snapshot();
  store::KvStateMachine b(kHistoryLimit, kHistoryBytes);
  try {
    b.restore(first);
  } catch (const std::exception& error) {
    std::fprintf(stderr, "restoring snapshot() threw: %s\n", error.what());
    fail("restore rejected what snapshot() produced");
  }
  if (b.snapshot() != first) fail("snapshot -> restore -> snapshot changed the bytes");
  check_same_reads(a, b, "right after restore");

  // The same commands on both must do the same things: whatever restore() derived from the
  // input that the snapshot does not carry (a lease's keys, ...) shows up here.
  for (const auto& kv : a.range("")) {
    if (kv.lease != 0) {
      run_on_both(
          a, b, [&](store::KvStateMachine& m) { return m.keep_alive(kv.lease, kNow); },
          "keep_alive(" + std::to_string(kv.lease) + ")");
    }
  }
  for (const auto id : a.lease_ids()) {
    run_on_both(
        a, b, [&](store::KvStateMachine& m) { return m.revoke_lease(id); },
        "revoke_lease(" + std::to_string(id) + ")");
  }
  run_on_both(
      a, b,
      [](store::KvStateMachine& m) {
        return m.apply(store::Txn{{}, {{store::RequestOp::Kind::put, "fuzz", "x", 0}}, {}});
      },
      "put");
  run_on_both(
      a, b,
      [](store::KvStateMachine& m) {
        return m.apply(store::Txn{{}, {{store::RequestOp::Kind::del_range, "", "", 0}}, {}});
      },
      "del_range(\"\")");
  return 0;
}
