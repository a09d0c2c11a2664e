// Fuzzes what the JetStream queue reads from NATS and from its flag (tasks/jetstream/
// jetstream_mapping.hpp): MAX_DELIVERIES advisories (anyone allowed to publish on the
// advisory subject can send one), message subjects, and the --queue server list. They must
// never crash; an advisory accepted names a positive sequence; a subject accepted names a
// priority 0-9 that maps back to the same subject; a server list accepted has 1-16 URLs
// that parse again to themselves, and a refused one says why.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "invariant.hpp"
#include "tasks/jetstream/jetstream_mapping.hpp"

namespace js = isla::tasks::jetstream;

namespace {

void check(bool holds, const char* what) {
  if (!holds) fail(what);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  if (auto advisory = js::parse_max_deliveries(text)) {
    check(advisory->stream_seq > 0 && advisory->deliveries >= 0, "an advisory without a sequence");
  }
  if (auto priority = js::priority_of_subject("isla.tasks", text)) {
    check(*priority >= 0 && *priority <= 9, "a priority out of 0-9");
    check(js::priority_subject("isla.tasks", *priority) == text,
          "a subject that does not map back");
  }
  std::string error;
  const auto urls = js::parse_server_list(text, error);
  if (urls.empty()) {
    check(!error.empty(), "a refused server list without a reason");
  } else {
    check(urls.size() <= 16, "more than 16 servers");
    std::string joined;
    for (const auto& url : urls) joined += (joined.empty() ? "" : ",") + url;
    std::string again_error;
    check(js::parse_server_list(joined, again_error) == urls,
          "server URLs that do not parse again");
  }
  return 0;
}
