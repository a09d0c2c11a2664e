// Fuzzes what a balancer pair member reads from outside: its heartbeat datagrams
// (balancer/pair/heartbeat_codec) and its term file (balancer/pair/term_file). The first
// input byte picks the island secret (low bit: 0 -> none, 1 -> "s3cret") and the target
// (bit 1: 0 -> datagram, 1 -> term file); the rest is the input. A datagram that decodes must
// survive encode -> decode unchanged, signed with the secret and unsigned, and fail under
// any other key; a rejection always names its reason. A term file either loads cleanly or
// is reported and read as 0; whatever term loads, its own line loads back as the same term.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "balancer/pair/heartbeat_codec.hpp"
#include "balancer/pair/term_file.hpp"
#include "durability/atomic_file.hpp"
#include "durability/fault_injecting_file_system.hpp"
#include "invariant.hpp"

namespace {

using namespace isla::balancer::pair;

void check_datagram(std::string_view bytes, std::string_view secret) {
  const auto decoded = decode(bytes, secret);
  if (!decoded.beat) {
    if (decoded.rejection.empty()) fail("rejected without a reason");
    return;
  }
  if (!decoded.rejection.empty()) fail("accepted with a rejection reason");
  for (const std::string_view key : {secret, std::string_view("s3cret"), std::string_view()}) {
    const auto again = decode(encode(*decoded.beat, key), key);
    if (!again.beat) fail("encode produced a datagram that decode rejects");
    if (!(*again.beat == *decoded.beat)) fail("encode/decode round trip changed the datagram");
    if (!key.empty() && decode(encode(*decoded.beat, key), "another key").beat) {
      fail("a datagram signed with one key verified under another");
    }
  }
}

void check_term_file(std::string_view text) {
  isla::durability::FaultInjectingFileSystem fs;
  fs.create_directories("/d");
  isla::durability::write_atomically(fs, "/d/pair.term", text);
  TermFile file(fs, "/d/pair.term");
  const auto loaded = file.load();
  if (!loaded.problem.empty() && loaded.term != 0) fail("a damaged file gave a term");
  if (loaded.problem.empty() && text != term_file_line(loaded.term)) {
    fail("a file that is not the line of its term loaded cleanly");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::string_view secret = (data[0] & 1) != 0 ? "s3cret" : "";
  const std::string_view bytes(reinterpret_cast<const char*>(data) + 1, size - 1);
  if ((data[0] & 2) == 0) {
    check_datagram(bytes, secret);
  } else {
    check_term_file(bytes);
  }
  return 0;
}
