// Fuzzes the store's command codec (store/command_codec.hpp): decode_command on the bytes a
// Raft log entry holds, and decode_result on the bytes a proposer gets back. Both forms are
// canonical (fixed-width little-endian, length-prefixed, no trailing bytes), so whatever
// decodes must re-encode to exactly the input bytes, and decode again to the same thing.
// Every decoded command is then applied to a small KvStateMachine, as each replica would,
// and the answer must survive encode_result -> decode_result unchanged.
//
// It found, now fixed: lease deadlines (now_ms + ttl_ms) that overflowed int64, and keys or
// values that were not UTF-8 breaking the (then JSON) snapshot.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <variant>

#include "invariant.hpp"
#include "store/command_codec.hpp"
#include "store/kv_state_machine.hpp"

namespace store = isla::store;

namespace {

constexpr std::int64_t kLeaseTtl = 5'000;  // the lease the machine starts with

void check_result_codec(const store::TxnResult& result) {
  const std::string encoded = store::encode_result(result);
  const auto decoded = store::decode_result(encoded);
  if (!decoded) fail("decode_result rejected what encode_result produced");
  if (*decoded != result) fail("encode_result/decode_result changed a result");
  if (store::encode_result(*decoded) != encoded) fail("encode_result is not a fixed point");
}

void apply(const store::Command& command) {
  store::KvStateMachine machine(8);
  machine.grant_lease(7, kLeaseTtl, 1'000);
  machine.apply(store::Txn{{}, {{store::RequestOp::Kind::put, "a", "1", 0}}, {}});
  machine.apply(store::Txn{{}, {{store::RequestOp::Kind::put, "ab", "2", 7}}, {}});
  const store::TxnResult result = std::visit(
      [&](const auto& value) -> store::TxnResult {
        using T = std::decay_t<decltype(value)>;
        if constexpr (std::is_same_v<T, store::Txn>) {
          return machine.apply(value);
        } else if constexpr (std::is_same_v<T, store::GrantLease>) {
          return machine.grant_lease(value.id, value.ttl_ms, value.now_ms);
        } else if constexpr (std::is_same_v<T, store::KeepAlive>) {
          return machine.keep_alive(value.id, value.now_ms);
        } else {
          return machine.revoke_lease(value.id);
        }
      },
      command);
  check_result_codec(result);
  // The machine must still snapshot and restore after any command.
  const std::string snapshot = machine.snapshot();
  store::KvStateMachine copy(8);
  try {
    copy.restore(snapshot);
  } catch (const std::invalid_argument& error) {
    std::fprintf(stderr, "restore(snapshot()) threw: %s\n", error.what());
    fail("restore rejected the snapshot of a machine after a command");
  }
  if (copy.snapshot() != snapshot) fail("snapshot after a command does not round-trip");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);

  if (const auto command = store::decode_command(bytes)) {
    const std::string encoded = store::encode_command(*command);
    if (encoded != bytes) {
      std::fprintf(stderr, "%zu input bytes re-encoded as %zu bytes\n", bytes.size(),
                   encoded.size());
      fail("re-encoding an accepted command changed its bytes");
    }
    const auto again = store::decode_command(encoded);
    if (!again) fail("decode_command rejected what encode_command produced");
    if (again->index() != command->index() || store::encode_command(*again) != encoded) {
      fail("encode_command/decode_command changed the command");
    }
    apply(*command);
  }

  if (const auto result = store::decode_result(bytes)) {
    const std::string encoded = store::encode_result(*result);
    if (encoded != bytes) {
      std::fprintf(stderr, "%zu input bytes re-encoded as %zu bytes\n", bytes.size(),
                   encoded.size());
      fail("re-encoding an accepted result changed its bytes");
    }
    check_result_codec(*result);
  }
  return 0;
}
