// Fuzzes the decoders of Raft's persistent records (consensus/codec.hpp) and of
// configuration-change entries (consensus/types.hpp). The first input byte picks the decoder
// (its value modulo 4: 0 entry, 1 hard state, 2 snapshot, 3 conf change); the rest is what it
// decodes. The codec's binary forms are canonical (fixed-width little-endian, length-
// prefixed, no trailing bytes), so every accepted input must re-encode to exactly the same
// bytes, and decoding that again must give the same value. Conf changes are text ("v:7",
// "l:3@host:port") and may be spelled more than one way, so for them only the value must
// survive encode -> decode, and encode's own spelling must be a fixed point.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>

#include "consensus/codec.hpp"
#include "consensus/types.hpp"
#include "invariant.hpp"

namespace consensus = isla::consensus;

namespace {

// decode(bytes) == value  =>  encode(value) == bytes  and  decode(encode(value)) == value.
template <typename Decode, typename Encode>
void check_canonical(std::string_view bytes, Decode decode, Encode encode, const char* what) {
  const auto decoded = decode(bytes);
  if (!decoded) return;
  const std::string encoded = encode(*decoded);
  if (encoded != bytes) {
    std::fprintf(stderr, "%s: %zu input bytes re-encoded as %zu bytes\n", what, bytes.size(),
                 encoded.size());
    fail("re-encoding an accepted input changed its bytes");
  }
  const auto again = decode(encoded);
  if (!again) fail("decode rejected what encode produced");
  if (!(*again == *decoded)) fail("encode/decode round trip changed the value");
}

void check_conf_change(std::string_view bytes) {
  const auto decoded = consensus::decode_conf_change(std::string(bytes));
  if (!decoded) return;
  if (decoded->node == 0) fail("decode_conf_change accepted node 0 (\"none\")");
  const std::string encoded = consensus::encode(*decoded);
  const auto again = consensus::decode_conf_change(encoded);
  if (!again) fail("decode_conf_change rejected what encode produced");
  if (!(*again == *decoded)) fail("conf change encode/decode round trip changed the value");
  if (consensus::encode(*again) != encoded) fail("encode of a conf change is not a fixed point");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::string_view bytes(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % 4) {
    case 0:
      check_canonical(
          bytes, [](std::string_view in) { return consensus::decode_entry(in); },
          [](const consensus::Entry& entry) { return consensus::encode_entry(entry); }, "entry");
      break;
    case 1:
      check_canonical(
          bytes, [](std::string_view in) { return consensus::decode_hard_state(in); },
          [](const consensus::HardState& state) { return consensus::encode_hard_state(state); },
          "hard state");
      break;
    case 2:
      check_canonical(
          bytes, [](std::string_view in) { return consensus::decode_snapshot(in); },
          [](const consensus::Snapshot& snapshot) { return consensus::encode_snapshot(snapshot); },
          "snapshot");
      break;
    case 3:
      check_conf_change(bytes);
      break;
  }
  return 0;
}
