// Fuzzes decode_message_batch (consensus/codec.hpp): the bytes a peer's transport hands to
// Raft. The binary form is canonical (fixed-width little-endian, length-prefixed, no
// trailing bytes), so every accepted batch must re-encode to exactly the input bytes and
// decode again to equal messages. Beyond the round trip, what the receiver relies on: a
// snapshot message carries a snapshot.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "consensus/codec.hpp"
#include "consensus/types.hpp"
#include "invariant.hpp"

namespace consensus = isla::consensus;

namespace {}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  const auto decoded = consensus::decode_message_batch(bytes);
  if (!decoded) return 0;
  for (const auto& message : *decoded) {
    if (message.type == consensus::MessageType::snapshot && !message.snapshot) {
      fail("accepted a snapshot message without a snapshot");
    }
    if (static_cast<std::uint8_t>(message.type) >
        static_cast<std::uint8_t>(consensus::MessageType::read_index_response)) {
      fail("accepted an unknown message type");
    }
    for (const auto& entry : message.entries) {
      if (static_cast<std::uint8_t>(entry.type) >
          static_cast<std::uint8_t>(consensus::EntryType::conf_change)) {
        fail("accepted an unknown entry type");
      }
    }
  }
  const std::string encoded = consensus::encode_message_batch(*decoded);
  if (encoded != bytes) {
    std::fprintf(stderr, "%zu input bytes (%zu messages) re-encoded as %zu bytes\n", bytes.size(),
                 decoded->size(), encoded.size());
    fail("re-encoding an accepted batch changed its bytes");
  }
  const auto again = consensus::decode_message_batch(encoded);
  if (!again) fail("decode_message_batch rejected what encode_message_batch produced");
  if (*again != *decoded) fail("encode/decode round trip changed the messages");
  return 0;
}
