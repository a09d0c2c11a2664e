// Fuzzes the decoders of the clocks other nodes send (clocks/event_json.hpp): a stamp carried
// by a message and an event read from another node's log. They must never crash; a refusal
// must name its reason; an accepted clock must be within its entry limit and hold no zero; what
// is accepted must survive to_json -> decode unchanged.
#include <boost/json.hpp>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "clocks/event_json.hpp"
#include "fuzz_json.hpp"
#include "invariant.hpp"

namespace clocks = isla::clocks;
namespace json = boost::json;

namespace {

constexpr std::size_t kMaxEntries = 8;

void check_clock(const clocks::VectorClock& clock) {
  if (clock.size() > kMaxEntries) fail("accepted a clock over its entry limit");
  for (const auto& [node, count] : clock.entries()) {
    if (count == 0) fail("accepted a zero entry");
    if (node.empty() || node.size() > clocks::kMaxClockNodeBytes) fail("accepted a bad node name");
  }
}

void check_stamp(const json::value& value) {
  const auto decoded = clocks::stamp_from_json(value, kMaxEntries);
  if (!decoded.stamp) {
    if (decoded.rejection.empty()) fail("a stamp refused without a reason");
    return;
  }
  check_clock(decoded.stamp->vector);
  const auto again = clocks::stamp_from_json(clocks::to_json(*decoded.stamp), kMaxEntries);
  if (!again.stamp || !(*again.stamp == *decoded.stamp)) fail("a stamp did not round-trip");
}

void check_event(const json::value& value) {
  const auto decoded = clocks::event_from_json(value, kMaxEntries);
  if (!decoded.event) {
    if (decoded.rejection.empty()) fail("an event refused without a reason");
    return;
  }
  const auto& event = *decoded.event;
  check_clock(event.vector);
  if (event.vector.at(event.node) == 0) fail("accepted an event its own node did not count");
  if (!event.detail.is_string() && !event.detail.is_object()) fail("accepted a bad detail");
  const auto again = clocks::event_from_json(clocks::to_json(event), kMaxEntries);
  if (!again.event) fail("an event did not decode once re-encoded");
  const auto& back = *again.event;
  if (back.node != event.node || back.kind != event.kind || back.detail != event.detail ||
      !(back.stamp() == event.stamp()) || back.wall_ms != event.wall_ms) {
    fail("an event did not round-trip");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto value = parse_fuzz_json(fuzz_text(data, size));
  if (!value) return 0;
  check_stamp(*value);
  check_event(*value);
  return 0;
}
