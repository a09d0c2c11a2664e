// Fuzzes the election message codec (election/codec.hpp) on arbitrary text. It must never
// crash; a refusal must name its reason; an accepted message must respect what the electors
// rely on (valid ids, at most kMaxCandidates candidates, a ring election's initiator first and
// no candidate twice) and survive encode -> decode unchanged.
#include <cstddef>
#include <cstdint>
#include <set>
#include <string>
#include <string_view>

#include "core/endpoint.hpp"
#include "election/codec.hpp"
#include "invariant.hpp"

namespace election = isla::election;

namespace {

void check_id(const std::string& id) {
  if (id.empty() || id.size() > election::kMaxNodeIdBytes || !isla::core::parse_endpoint(id)) {
    fail("accepted an id that is not HOST:PORT");
  }
}

void check_accepted(const election::ElectionMessage& message) {
  check_id(message.from.id);
  if (message.leader) check_id(message.leader->id);
  const bool ring = message.kind == election::MessageKind::ring_election ||
                    message.kind == election::MessageKind::ring_coordinator;
  if (ring) check_id(message.initiator);
  if (message.kind == election::MessageKind::ring_coordinator && !message.leader) {
    fail("accepted a ring coordinator without a winner");
  }
  if (message.candidates.size() > election::kMaxCandidates) fail("accepted too many candidates");
  if (message.kind == election::MessageKind::ring_election) {
    if (message.candidates.empty() || message.candidates.front().id != message.initiator) {
      fail("accepted a ring election that does not start at its initiator");
    }
    std::set<std::string> seen;
    for (const auto& candidate : message.candidates) {
      check_id(candidate.id);
      if (!seen.insert(candidate.id).second) fail("accepted a candidate twice");
    }
  } else if (!message.candidates.empty()) {
    fail("kept candidates on a message that does not carry them");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const auto decoded = election::decode(text);
  if (!decoded.message) {
    if (decoded.rejection.empty()) fail("a refusal without a reason");
    return 0;
  }
  check_accepted(*decoded.message);
  const auto again = election::decode(election::encode(*decoded.message));
  if (!again.message) fail("an accepted message does not decode once re-encoded");
  if (!(*again.message == *decoded.message)) fail("encode -> decode changed the message");
  return 0;
}
