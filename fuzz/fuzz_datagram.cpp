// Fuzzes membership datagram verification. The first input byte picks the island secret (its
// low bit: 0 -> no secret, 1 -> "s3cret"); the rest is the datagram. Every datagram that
// decodes must survive encode -> decode unchanged (but for trailing gossip entries that no
// longer fit), signed with the island secret and with none, and must fail verification under
// any other key.
// The same bytes then drive the replay window (8 bytes a check: sender, restart, seq step,
// far jump, timestamp offset, stale incarnation) against a model of what it may accept: a (sender,
// incarnation, seq) is fresh at most once, nothing older than a sender's newest incarnation
// is fresh, and the number of senders kept never exceeds the cap.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <tuple>

#include "invariant.hpp"
#include "membership/datagram.hpp"
#include "membership/replay_window.hpp"
#include "net/udp_endpoint.hpp"

namespace {

using isla::membership::decode;
using isla::membership::encode;

void check_round_trip(const isla::membership::Datagram& datagram, std::string_view secret) {
  const auto encoded = encode(datagram, secret);
  // encode() documents nullopt for results over the datagram size limit; re-encoding adds
  // defaulted fields (load, seq, ts, ...) and a 64-digit MAC, so an accepted datagram near
  // the limit may legitimately not fit any more.
  if (!encoded) return;
  if (encoded->size() > isla::net::kMaxDatagramBytes) fail("encode exceeded the size limit");
  const auto again = decode(*encoded, secret);
  if (!again.datagram) {
    std::fprintf(stderr, "re-decode rejected: %s\n", again.rejection.c_str());
    fail("encode produced a datagram that decode rejects");
  }
  // For the same reason encode() may leave gossip out, but only the last entries.
  const auto& kept = again.datagram->gossip;
  if (kept.size() > datagram.gossip.size() ||
      !std::equal(kept.begin(), kept.end(), datagram.gossip.begin())) {
    fail("encode changed or reordered gossip");
  }
  auto expected = datagram;
  expected.gossip.resize(kept.size());
  if (!(*again.datagram == expected)) fail("encode/decode round trip changed the datagram");
  if (!secret.empty() && decode(*encoded, "another key").rejection != "bad_signature") {
    fail("a datagram signed with one key verified under another");
  }
}

void check_replay_window(const std::uint8_t* data, std::size_t size) {
  using isla::membership::ReplayVerdict;
  constexpr std::uint64_t kNow = 1'764'600'000'000;
  constexpr std::size_t kSenders = 6;  // more than the bounded window below keeps
  isla::membership::ReplayWindow unbounded({std::chrono::milliseconds(30'000), kSenders});
  isla::membership::ReplayWindow bounded({std::chrono::milliseconds(30'000), 2});
  std::set<std::tuple<std::size_t, std::uint64_t, std::uint64_t>> accepted;
  std::map<std::size_t, std::uint64_t> newest_incarnation, incarnation, seq;
  for (std::size_t at = 0; at + 8 <= size; at += 8) {
    const std::size_t sender = data[at] % kSenders;
    incarnation[sender] += data[at + 1] % 3 == 0 ? 1 : 0;  // restarts now and then
    // Mostly small steps, sometimes back (reorder, replay), sometimes far ahead.
    const auto step = static_cast<std::int8_t>(data[at + 2]);
    const std::uint64_t jump = data[at + 3] == 0xff ? (std::uint64_t{1} << 40) : 0;
    auto& s = seq[sender];
    s = step < 0 && s < static_cast<std::uint64_t>(-step) ? 0 : s + step + jump;
    const auto offset = static_cast<std::int16_t>(data[at + 4] << 8 | data[at + 5]);
    const std::uint64_t ts = kNow + static_cast<std::uint64_t>(std::int64_t{offset} * 1000);
    const auto name = "node-" + std::to_string(sender);

    // Now and then a datagram from before the sender's latest restart.
    const auto from = incarnation[sender] - (data[at + 6] % 5 == 4 && incarnation[sender] > 0);

    const auto verdict = unbounded.check(name, from, s, ts, kNow);
    if (verdict == ReplayVerdict::fresh) {
      if (!accepted.insert({sender, from, s}).second) fail("the same datagram was fresh twice");
      if (from < newest_incarnation[sender]) fail("an old incarnation was fresh");
      newest_incarnation[sender] = std::max(newest_incarnation[sender], from);
      if (offset > 30 || offset < -30) fail("a skewed timestamp was fresh");
    }
    (void)bounded.check(name, from, s, ts, kNow);
    if (bounded.senders() > 2) fail("the window kept more senders than its cap");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::string_view secret = (data[0] & 1) != 0 ? "s3cret" : "";
  const std::string_view bytes(reinterpret_cast<const char*>(data) + 1, size - 1);
  check_replay_window(data + 1, size - 1);

  const auto decoded = decode(bytes, secret);
  if (!decoded.datagram) {
    if (decoded.rejection.empty()) fail("rejected without a reason");
    return 0;
  }
  if (!decoded.rejection.empty()) fail("accepted with a rejection reason");
  check_round_trip(*decoded.datagram, secret);
  check_round_trip(*decoded.datagram, "s3cret");  // the signed path, whatever came in
  return 0;
}
