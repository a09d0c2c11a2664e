// Fuzzes client token parsing and checking. A token that verifies must carry exactly the
// claims read_claims() sees, and minting those claims again must give a token that
// verifies to them: nothing in a token is believed unless the signature covers it.
#include <climits>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <variant>

#include "invariant.hpp"
#include "security/token.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view token(reinterpret_cast<const char*>(data), size);
  const std::string key(32, 'k');
  const auto read = isla::security::read_claims(token);
  const auto checked = isla::security::verify_token(key, token, 0);
  if (const auto* claims = std::get_if<isla::security::Claims>(&checked)) {
    if (!read || !(*read == *claims)) fail("verified claims differ from the token's claims");
    if (claims->expires_ms <= 0) fail("an expired token verified");
  } else if (std::get<std::string>(checked).empty()) {
    fail("refused without a reason");
  }
  if (read && read->expires_ms > INT64_MIN + 1) {
    const auto again = isla::security::mint_token(key, *read);
    const auto round = isla::security::verify_token(key, again, read->expires_ms - 1);
    const auto* claims = std::get_if<isla::security::Claims>(&round);
    if (!claims || !(*claims == *read)) {
      fail("re-minted claims did not verify to themselves");
    }
  }
  return 0;
}
