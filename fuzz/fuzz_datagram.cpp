// Fuzzes membership datagram decoding. The first input byte picks the island secret (its
// low bit: 0 -> no secret, 1 -> "s3cret"); the rest is the datagram. Every datagram that
// decodes must survive encode -> decode unchanged.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "invariant.hpp"
#include "membership/datagram.hpp"
#include "net/udp_endpoint.hpp"

namespace {}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::string_view secret = (data[0] & 1) != 0 ? "s3cret" : "";
  const std::string_view bytes(reinterpret_cast<const char*>(data) + 1, size - 1);

  const auto decoded = isla::membership::decode(bytes, secret);
  if (!decoded.datagram) {
    if (decoded.rejection.empty()) fail("rejected without a reason");
    return 0;
  }
  if (!decoded.rejection.empty()) fail("accepted with a rejection reason");

  const auto encoded = isla::membership::encode(*decoded.datagram, secret);
  // encode() documents nullopt for results over the datagram size limit; re-encoding adds
  // defaulted fields (load, seq, ...) and a 64-digit MAC, so an accepted datagram near the
  // limit may legitimately not fit any more.
  if (!encoded) return 0;
  if (encoded->size() > isla::net::kMaxDatagramBytes) fail("encode exceeded the size limit");

  const auto again = isla::membership::decode(*encoded, secret);
  if (!again.datagram) {
    std::fprintf(stderr, "re-decode rejected: %s\n", again.rejection.c_str());
    fail("encode produced a datagram that decode rejects");
  }
  if (!(*again.datagram == *decoded.datagram))
    fail("encode/decode round trip changed the datagram");
  return 0;
}
