// Fuzzes the signed-request header (Isla-Auth) and its verification. Whatever the header
// holds, verification must refuse it with a reason unless it was made with the key; a
// header that parses must print back to the fields it parsed to.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "invariant.hpp"
#include "security/request_auth.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view value(reinterpret_cast<const char*>(data), size);
  if (auto fields = isla::security::parse_auth_header(value)) {
    if (fields->node.empty() || fields->body_sha256.size() != 64 ||
        fields->signature.size() != 64) {
      fail("a header parsed with a missing field");
    }
  }
  isla::security::RequestVerifier verifier(std::string(32, 'r'), "127.0.0.1:5235");
  isla::net::HttpRequest request;
  request.method = "POST";
  request.target = "/internal/raft/messages";
  request.headers.emplace_back("Isla-Auth", std::string(value));
  const auto verdict = verifier.verify_head(request, 1'700'000'000'000);
  // Forging an HMAC-SHA256 by chance is not a thing a fuzzer does.
  if (verdict.ok) fail("a header not made with the key was accepted");
  if (verdict.reason.empty()) fail("refused without a reason");
  if (isla::security::RequestVerifier::body_matches(request) &&
      !isla::security::parse_auth_header(value)) {
    fail("a body matched a header that does not parse");
  }
  return 0;
}
