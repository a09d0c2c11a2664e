// Fuzzes the server-sent-events parser (net/http_stream.hpp) that `isla kv watch` reads the
// store's watch stream with. Whatever the bytes, it must not crash, must keep events within
// its limit, and must give the same events however the bytes are split into reads (the
// network decides the split, not the sender).
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "invariant.hpp"
#include "net/http_stream.hpp"

namespace {

constexpr std::size_t kLimit = 256;

struct Seen {
  std::vector<std::string> events;  // id, type and data of each event, joined
  bool ok = true;
};

Seen parse(std::string_view bytes, std::size_t piece) {
  isla::net::SseParser parser(kLimit);
  Seen seen;
  auto on_event = [&seen](const isla::net::SseEvent& event) {
    if (event.data.size() > kLimit) fail("an event larger than the limit was delivered");
    seen.events.push_back(event.id + '\x1f' + event.type + '\x1f' + event.data);
    return true;
  };
  for (std::size_t at = 0; at < bytes.size() && seen.ok; at += piece) {
    seen.ok = parser.feed(bytes.substr(at, piece), on_event);
  }
  return seen;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  // The first byte chooses how the rest is split into reads.
  const std::size_t piece = 1 + data[0] % 17;
  const std::string_view bytes(reinterpret_cast<const char*>(data) + 1, size - 1);
  const auto whole = parse(bytes, bytes.size() + 1);
  const auto split = parse(bytes, piece);
  if (whole.ok != split.ok) fail("splitting the bytes changed whether the stream overflowed");
  if (whole.ok && whole.events != split.events) fail("splitting the bytes changed the events");
  return 0;
}
