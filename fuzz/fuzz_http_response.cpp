// Fuzzes the client's receive path (net/response_reader.hpp): the bytes a server sends on a
// pipelined connection, split into its answers. Whatever the bytes, it must not crash, must
// keep bodies within the limit, and must give the same answers however the bytes are split
// into reads. The first input byte says which answers are to HEAD requests.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "invariant.hpp"
#include "net/response_reader.hpp"

namespace {

constexpr std::size_t kBodyLimit = 4096;

struct Seen {
  std::vector<std::string> answers;  // status and body of each answer, joined
  bool failed = false;
};

Seen read_all(std::string_view bytes, std::size_t piece, std::uint8_t heads) {
  isla::net::ResponseReader reader(kBodyLimit);
  Seen seen;
  for (std::size_t at = 0; at < bytes.size() && !seen.failed; at += piece) {
    reader.input().feed(bytes.substr(at, piece));
    for (;;) {
      const bool head = (heads >> (seen.answers.size() % 8)) & 1U;
      auto answer = reader.next(head);
      if (!answer.error.empty()) {
        seen.failed = true;
        break;
      }
      if (!answer.response) break;
      if (answer.response->body.size() > kBodyLimit) fail("a body larger than the limit");
      if (head && !answer.response->body.empty()) fail("an answer to HEAD with a body");
      seen.answers.push_back(std::to_string(answer.response->status) + '\x1f' +
                             answer.response->body);
      if (!answer.keep_alive) return seen;  // nothing after it counts
    }
  }
  return seen;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const std::uint8_t heads = data[0];
  const std::string_view bytes(reinterpret_cast<const char*>(data + 1), size - 1);
  const auto whole = read_all(bytes, bytes.size() + 1, heads);
  const auto bytewise = read_all(bytes, 1, heads);
  // A split can only matter once the stream went bad; every answer before that must agree.
  const auto common = std::min(whole.answers.size(), bytewise.answers.size());
  for (std::size_t i = 0; i < common; ++i) {
    if (whole.answers[i] != bytewise.answers[i]) fail("the split into reads changed an answer");
  }
  if (!whole.failed && !bytewise.failed && whole.answers.size() != bytewise.answers.size()) {
    fail("the split into reads changed how many answers there were");
  }
  return 0;
}
