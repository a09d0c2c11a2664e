#include "store/command_codec.hpp"

#include "store/kv_codec.hpp"

namespace isla::store {

namespace {

using consensus::Reader;
using consensus::Writer;

enum class Tag : std::uint8_t { txn = 1, grant = 2, keep_alive = 3, revoke = 4 };

std::uint64_t u(std::int64_t value) {
  return static_cast<std::uint64_t>(value);
}

template <class Enum>
bool read_enum(Reader& in, Enum& value, Enum last) {
  std::uint8_t raw = 0;
  if (!in.u8(raw) || raw > static_cast<std::uint8_t>(last)) return false;
  value = static_cast<Enum>(raw);
  return true;
}

void write_ops(Writer& out, const std::vector<RequestOp>& ops) {
  out.u64(ops.size());
  for (const auto& op : ops) {
    out.u8(static_cast<std::uint8_t>(op.kind)).bytes(op.key).bytes(op.value).u64(u(op.lease));
  }
}

bool read_ops(Reader& in, std::vector<RequestOp>& ops) {
  std::uint64_t count = 0;
  // An op takes at least 25 bytes: a larger count is a lie, not a reason to allocate.
  if (!in.u64(count) || count > in.remaining() / 25) return false;
  ops.resize(count);
  for (auto& op : ops) {
    if (!read_enum(in, op.kind, RequestOp::Kind::del_range) || !in.bytes(op.key) ||
        !in.bytes(op.value) || !read_i64(in, op.lease)) {
      return false;
    }
  }
  return true;
}

void write_txn(Writer& out, const Txn& txn) {
  out.u64(txn.compares.size());
  for (const auto& compare : txn.compares) {
    out.bytes(compare.key)
        .u8(static_cast<std::uint8_t>(compare.target))
        .u8(static_cast<std::uint8_t>(compare.result))
        .bytes(compare.value)
        .u64(u(compare.number));
  }
  write_ops(out, txn.success);
  write_ops(out, txn.failure);
}

bool read_txn(Reader& in, Txn& txn) {
  std::uint64_t count = 0;
  if (!in.u64(count) || count > in.remaining() / 26) return false;
  txn.compares.resize(count);
  for (auto& compare : txn.compares) {
    if (!in.bytes(compare.key) || !read_enum(in, compare.target, Compare::Target::mod_revision) ||
        !read_enum(in, compare.result, Compare::Result::greater) || !in.bytes(compare.value) ||
        !read_i64(in, compare.number)) {
      return false;
    }
  }
  return read_ops(in, txn.success) && read_ops(in, txn.failure);
}

}  // namespace

std::string encode_command(const Command& command) {
  Writer out;
  std::visit(
      [&out](const auto& value) {
        using T = std::decay_t<decltype(value)>;
        if constexpr (std::is_same_v<T, Txn>) {
          out.u8(static_cast<std::uint8_t>(Tag::txn));
          write_txn(out, value);
        } else if constexpr (std::is_same_v<T, GrantLease>) {
          out.u8(static_cast<std::uint8_t>(Tag::grant))
              .u64(u(value.id))
              .u64(u(value.ttl_ms))
              .u64(u(value.now_ms));
        } else if constexpr (std::is_same_v<T, KeepAlive>) {
          out.u8(static_cast<std::uint8_t>(Tag::keep_alive)).u64(u(value.id)).u64(u(value.now_ms));
        } else {
          out.u8(static_cast<std::uint8_t>(Tag::revoke)).u64(u(value.id));
        }
      },
      command);
  return out.take();
}

std::optional<Command> decode_command(std::string_view bytes) {
  Reader in(bytes);
  Tag tag{};
  if (!read_enum(in, tag, Tag::revoke)) return std::nullopt;
  Command command;
  bool ok = false;
  switch (tag) {
    case Tag::txn: {
      Txn txn;
      ok = read_txn(in, txn);
      command = std::move(txn);
      break;
    }
    case Tag::grant: {
      GrantLease grant;
      ok = read_i64(in, grant.id) && read_i64(in, grant.ttl_ms) && read_i64(in, grant.now_ms);
      command = grant;
      break;
    }
    case Tag::keep_alive: {
      KeepAlive keep;
      ok = read_i64(in, keep.id) && read_i64(in, keep.now_ms);
      command = keep;
      break;
    }
    case Tag::revoke: {
      RevokeLease revoke;
      ok = read_i64(in, revoke.id);
      command = revoke;
      break;
    }
  }
  if (!ok || !in.done()) return std::nullopt;
  return command;
}

std::string encode_result(const TxnResult& result) {
  Writer out;
  out.u8(result.succeeded ? 1 : 0).u64(u(result.revision)).bytes(result.error);
  out.u64(result.results.size());
  for (const auto& op : result.results) {
    out.u64(op.kvs.size());
    for (const auto& kv : op.kvs) write_kv(out, kv);
    out.u64(u(op.deleted));
  }
  return out.take();
}

std::optional<TxnResult> decode_result(std::string_view bytes) {
  Reader in(bytes);
  TxnResult result;
  std::uint8_t succeeded = 0;
  std::uint64_t count = 0;
  if (!in.u8(succeeded) || succeeded > 1 || !read_i64(in, result.revision) ||
      !in.bytes(result.error) || !in.u64(count) || count > in.remaining() / 16) {
    return std::nullopt;
  }
  result.succeeded = succeeded == 1;
  result.results.resize(count);
  for (auto& op : result.results) {
    std::uint64_t kvs = 0;
    if (!in.u64(kvs) || kvs > in.remaining() / kMinKvBytes) return std::nullopt;
    op.kvs.resize(kvs);
    for (auto& kv : op.kvs) {
      if (!read_kv(in, kv)) return std::nullopt;
    }
    if (!read_i64(in, op.deleted)) return std::nullopt;
  }
  if (!in.done()) return std::nullopt;
  return result;
}

}  // namespace isla::store
