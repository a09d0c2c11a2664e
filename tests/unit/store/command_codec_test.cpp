// The store's commands and results in their Raft-log form: every variant survives the round
// trip, and the decoders refuse short, long and out-of-range bytes without trusting counts.
#include "store/command_codec.hpp"

#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <cstdint>
#include <limits>
#include <tuple>

#include "consensus/byte_io.hpp"

namespace isla::store {
namespace {

using consensus::Writer;
constexpr auto kMin = std::numeric_limits<std::int64_t>::min();
constexpr auto kMax = std::numeric_limits<std::int64_t>::max();

auto fields(const Compare& c) {
  return std::tie(c.key, c.target, c.result, c.value, c.number);
}
auto fields(const RequestOp& op) {
  return std::tie(op.kind, op.key, op.value, op.lease);
}
auto fields(const OpResult& op) {
  return std::tie(op.kvs, op.deleted);
}

template <class T>
bool same_list(const std::vector<T>& a, const std::vector<T>& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (fields(a[i]) != fields(b[i])) return false;
  }
  return true;
}

bool same(const Txn& a, const Txn& b) {
  return same_list(a.compares, b.compares) && same_list(a.success, b.success) &&
         same_list(a.failure, b.failure);
}

bool same(const TxnResult& a, const TxnResult& b) {
  return a.succeeded == b.succeeded && a.revision == b.revision && a.error == b.error &&
         same_list(a.results, b.results);
}

bool same(const Command& a, const Command& b) {
  if (a.index() != b.index()) return false;
  if (const auto* txn = std::get_if<Txn>(&a)) return same(*txn, std::get<Txn>(b));
  if (const auto* grant = std::get_if<GrantLease>(&a)) {
    const auto& other = std::get<GrantLease>(b);
    return grant->id == other.id && grant->ttl_ms == other.ttl_ms && grant->now_ms == other.now_ms;
  }
  if (const auto* keep = std::get_if<KeepAlive>(&a)) {
    const auto& other = std::get<KeepAlive>(b);
    return keep->id == other.id && keep->now_ms == other.now_ms;
  }
  return std::get<RevokeLease>(a).id == std::get<RevokeLease>(b).id;
}

// A transaction that uses every target, result and operation kind.
Txn full_txn() {
  Txn txn;
  txn.compares = {
      {"a", Compare::Target::value, Compare::Result::equal, "x", 0},
      {"b", Compare::Target::version, Compare::Result::not_equal, "", 3},
      {"c/ключ", Compare::Target::create_revision, Compare::Result::less, "", kMax},
      {"d", Compare::Target::mod_revision, Compare::Result::greater, "", kMin},
  };
  txn.success = {
      {RequestOp::Kind::get, "a", "", 0},
      {RequestOp::Kind::range, "pre/", "", 0},
      {RequestOp::Kind::put, "k", std::string("bin\0ary", 7), 42},
      {RequestOp::Kind::del, "k", "", 0},
      {RequestOp::Kind::del_range, "", "", 0},
  };
  txn.failure = {{RequestOp::Kind::put, "f", "", -1}};
  return txn;
}

TxnResult full_result() {
  TxnResult result;
  result.succeeded = false;
  result.revision = 77;
  result.error = "unknown lease 9";
  KeyValue kv{"k", "v", 1, 5, 3, 9};
  result.results = {{{kv, KeyValue{"k2", "", 2, 2, 1, 0}}, 0}, {{}, 4}, {{}, kMin}};
  return result;
}

std::vector<Command> every_command() {
  return {full_txn(),
          Txn{},
          GrantLease{7, 1500, 1'700'000'000'000},
          GrantLease{kMin, kMax, -1},
          KeepAlive{7, 1'700'000'000'123},
          RevokeLease{kMax}};
}

TEST(CommandCodec, EveryVariantRoundTrips) {
  for (const auto& command : every_command()) {
    const auto bytes = encode_command(command);
    auto decoded = decode_command(bytes);
    ASSERT_TRUE(decoded) << "variant " << command.index();
    EXPECT_TRUE(same(*decoded, command)) << "variant " << command.index();
    EXPECT_EQ(encode_command(*decoded), bytes);
  }
}

TEST(CommandCodec, ResultsRoundTrip) {
  for (const auto& result : {full_result(), TxnResult{}}) {
    const auto bytes = encode_result(result);
    auto decoded = decode_result(bytes);
    ASSERT_TRUE(decoded);
    EXPECT_TRUE(same(*decoded, result));
  }
}

TEST(CommandCodec, EveryTruncationIsRejected) {
  for (const auto& command : every_command()) {
    const auto bytes = encode_command(command);
    for (std::size_t size = 0; size < bytes.size(); ++size) {
      EXPECT_FALSE(decode_command(bytes.substr(0, size)))
          << "variant " << command.index() << " cut to " << size << " of " << bytes.size();
    }
  }
  const auto result = encode_result(full_result());
  for (std::size_t size = 0; size < result.size(); ++size) {
    EXPECT_FALSE(decode_result(result.substr(0, size))) << size;
  }
}

TEST(CommandCodec, TrailingBytesAreRejected) {
  for (const auto& command : every_command()) {
    EXPECT_FALSE(decode_command(encode_command(command) + '\0')) << command.index();
  }
  EXPECT_FALSE(decode_result(encode_result(full_result()) + 'x'));
}

TEST(CommandCodec, OutOfRangeTagsAndEnumsAreRejected) {
  EXPECT_FALSE(decode_command(std::string(1, '\0')));  // tag 0
  EXPECT_FALSE(decode_command(Writer().u8(5).u64(1).take()));

  // Txn: one compare, whose target and then result are one past the last.
  const auto compare = [](std::uint8_t target, std::uint8_t result) {
    return Writer()
        .u8(1)
        .u64(1)
        .bytes("k")
        .u8(target)
        .u8(result)
        .bytes("")
        .u64(0)
        .u64(0)
        .u64(0)
        .take();
  };
  EXPECT_TRUE(decode_command(compare(3, 3)));
  EXPECT_FALSE(decode_command(compare(4, 0)));
  EXPECT_FALSE(decode_command(compare(0, 4)));

  // An operation kind one past del_range.
  const auto op = [](std::uint8_t kind) {
    return Writer().u8(1).u64(0).u64(1).u8(kind).bytes("k").bytes("").u64(0).u64(0).take();
  };
  EXPECT_TRUE(decode_command(op(4)));
  EXPECT_FALSE(decode_command(op(5)));

  // `succeeded` is a boolean byte.
  auto result = encode_result(TxnResult{});
  result[0] = 2;
  EXPECT_FALSE(decode_result(result));
}

// Byte strings and counts that claim more than the input holds.
TEST(CommandCodec, LengthsBeyondTheInputAreRejected) {
  auto txn = Txn{};
  txn.success.push_back({RequestOp::Kind::put, "key", "value", 0});
  auto bytes = encode_command(txn);
  // The key's length follows the tag, the compare count, the op count and the op kind.
  const std::size_t key_length_at = 1 + 8 + 8 + 1;
  ASSERT_EQ(bytes[key_length_at], 3);
  bytes[key_length_at] = 100;
  EXPECT_FALSE(decode_command(bytes));

  for (const std::uint64_t count : {std::uint64_t{1} << 62, ~std::uint64_t{0}, std::uint64_t{3}}) {
    EXPECT_FALSE(decode_command(Writer().u8(1).u64(count).take())) << count;
    EXPECT_FALSE(decode_command(Writer().u8(1).u64(0).u64(count).take())) << count;
    EXPECT_FALSE(decode_result(Writer().u8(1).u64(0).bytes("").u64(count).take())) << count;
    EXPECT_FALSE(decode_result(Writer().u8(1).u64(0).bytes("").u64(1).u64(count).u64(0).take()))
        << count;
  }
}

// --- properties --------------------------------------------------------------------------

rc::Gen<std::string> text() {
  return rc::gen::container<std::string>(rc::gen::arbitrary<char>());
}

rc::Gen<RequestOp> gen_op() {
  return rc::gen::build<RequestOp>(
      rc::gen::set(&RequestOp::kind, rc::gen::element(RequestOp::Kind::get, RequestOp::Kind::range,
                                                      RequestOp::Kind::put, RequestOp::Kind::del,
                                                      RequestOp::Kind::del_range)),
      rc::gen::set(&RequestOp::key, text()), rc::gen::set(&RequestOp::value, text()),
      rc::gen::set(&RequestOp::lease, rc::gen::arbitrary<std::int64_t>()));
}

rc::Gen<Compare> gen_compare() {
  return rc::gen::build<Compare>(
      rc::gen::set(&Compare::key, text()),
      rc::gen::set(
          &Compare::target,
          rc::gen::element(Compare::Target::value, Compare::Target::version,
                           Compare::Target::create_revision, Compare::Target::mod_revision)),
      rc::gen::set(&Compare::result,
                   rc::gen::element(Compare::Result::equal, Compare::Result::not_equal,
                                    Compare::Result::less, Compare::Result::greater)),
      rc::gen::set(&Compare::value, text()),
      rc::gen::set(&Compare::number, rc::gen::arbitrary<std::int64_t>()));
}

rc::Gen<Txn> gen_txn() {
  return rc::gen::build<Txn>(
      rc::gen::set(&Txn::compares, rc::gen::container<std::vector<Compare>>(gen_compare())),
      rc::gen::set(&Txn::success, rc::gen::container<std::vector<RequestOp>>(gen_op())),
      rc::gen::set(&Txn::failure, rc::gen::container<std::vector<RequestOp>>(gen_op())));
}

rc::Gen<TxnResult> gen_result() {
  const auto kv = rc::gen::build<KeyValue>(
      rc::gen::set(&KeyValue::key, text()), rc::gen::set(&KeyValue::value, text()),
      rc::gen::set(&KeyValue::create_revision, rc::gen::arbitrary<std::int64_t>()),
      rc::gen::set(&KeyValue::mod_revision, rc::gen::arbitrary<std::int64_t>()),
      rc::gen::set(&KeyValue::version, rc::gen::arbitrary<std::int64_t>()),
      rc::gen::set(&KeyValue::lease, rc::gen::arbitrary<std::int64_t>()));
  const auto op = rc::gen::build<OpResult>(
      rc::gen::set(&OpResult::kvs, rc::gen::container<std::vector<KeyValue>>(kv)),
      rc::gen::set(&OpResult::deleted, rc::gen::arbitrary<std::int64_t>()));
  return rc::gen::build<TxnResult>(
      rc::gen::set(&TxnResult::succeeded, rc::gen::arbitrary<bool>()),
      rc::gen::set(&TxnResult::revision, rc::gen::arbitrary<std::int64_t>()),
      rc::gen::set(&TxnResult::results, rc::gen::container<std::vector<OpResult>>(op)),
      rc::gen::set(&TxnResult::error, text()));
}

RC_GTEST_PROP(CommandCodecProperty, TransactionsRoundTrip, ()) {
  const auto txn = *gen_txn();
  auto decoded = decode_command(encode_command(txn));
  RC_ASSERT(decoded.has_value());
  RC_ASSERT(same(*decoded, Command(txn)));
}

RC_GTEST_PROP(CommandCodecProperty, ResultsRoundTrip, ()) {
  const auto result = *gen_result();
  auto decoded = decode_result(encode_result(result));
  RC_ASSERT(decoded.has_value());
  RC_ASSERT(same(*decoded, result));
}

// Whatever a damaged entry holds, decoding it either fails or yields the command that
// encodes to exactly those bytes: the form is canonical, so no two byte strings alias.
RC_GTEST_PROP(CommandCodecProperty, DamagedBytesDecodeCanonicallyOrNotAtAll, ()) {
  auto bytes = encode_command(*gen_txn());
  const auto flips = *rc::gen::inRange(1, 4);
  for (int i = 0; i < flips; ++i) {
    const auto at = *rc::gen::inRange<std::size_t>(0, bytes.size());
    bytes[at] = *rc::gen::arbitrary<char>();
  }
  if (auto decoded = decode_command(bytes)) RC_ASSERT(encode_command(*decoded) == bytes);
}

}  // namespace
}  // namespace isla::store
