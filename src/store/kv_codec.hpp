#pragma once
// The binary form of a KeyValue, shared by the command codec (results) and the state
// machine's snapshots.
#include "consensus/byte_io.hpp"
#include "store/kv_state_machine.hpp"

namespace isla::store {

inline bool read_i64(consensus::Reader& in, std::int64_t& value) {
  std::uint64_t raw = 0;
  if (!in.u64(raw)) return false;
  value = static_cast<std::int64_t>(raw);
  return true;
}

inline void write_kv(consensus::Writer& out, const KeyValue& kv) {
  out.bytes(kv.key)
      .bytes(kv.value)
      .u64(static_cast<std::uint64_t>(kv.create_revision))
      .u64(static_cast<std::uint64_t>(kv.mod_revision))
      .u64(static_cast<std::uint64_t>(kv.version))
      .u64(static_cast<std::uint64_t>(kv.lease));
}

inline bool read_kv(consensus::Reader& in, KeyValue& kv) {
  return in.bytes(kv.key) && in.bytes(kv.value) && read_i64(in, kv.create_revision) &&
         read_i64(in, kv.mod_revision) && read_i64(in, kv.version) && read_i64(in, kv.lease);
}

// The smallest encoded KeyValue: two empty strings' lengths and four numbers.
inline constexpr std::size_t kMinKvBytes = 48;

}  // namespace isla::store
