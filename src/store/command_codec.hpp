#pragma once
// The store's commands as they travel through the Raft log, and the state machine's
// answers as they return to the proposer: a compact binary form (consensus/byte_io.hpp).
// Decoders reject short, trailing or out-of-range bytes.
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "store/kv_state_machine.hpp"

namespace isla::store {

struct GrantLease {
  LeaseId id = 0;
  std::int64_t ttl_ms = 0;
  std::int64_t now_ms = 0;  // the proposer's wall clock: every replica computes one deadline
};
struct KeepAlive {
  LeaseId id = 0;
  std::int64_t now_ms = 0;
};
struct RevokeLease {
  LeaseId id = 0;
};

using Command = std::variant<Txn, GrantLease, KeepAlive, RevokeLease>;

std::string encode_command(const Command& command);
std::optional<Command> decode_command(std::string_view bytes);

std::string encode_result(const TxnResult& result);
std::optional<TxnResult> decode_result(std::string_view bytes);

}  // namespace isla::store
