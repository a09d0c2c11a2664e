#pragma once
// Client tokens: stateless claims signed with a key derived from the island secret, so any
// node holding the secret checks them without asking anyone (docs/api.md#tokens):
//   isla1.<base64url of the claims' JSON>.<base64url of their HMAC-SHA256>
// Claims: {"sub": who, "role": "read"|"write"|"admin", "iat": ms, "exp": ms, "jti": id}.
// A token stays valid until it expires or its id is on the island's deny list.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

namespace isla::security {

enum class Role { read, write, admin };

const char* to_string(Role role);
std::optional<Role> role_from(std::string_view text);

struct Claims {
  std::string subject;
  Role role = Role::read;
  std::int64_t issued_ms = 0;
  std::int64_t expires_ms = 0;
  std::string id;  // 16 random bytes, hex: what the deny list names
  friend bool operator==(const Claims&, const Claims&) = default;
};

inline constexpr std::size_t kMaxTokenBytes = 2048;

// `key` is derive_key(secret, "token").
std::string mint_token(std::string_view key, const Claims& claims);

// Checks the signature first (nothing of an unsigned token is believed), then the expiry.
// The error names what is wrong, for the 401's body: never the key or the whole token.
std::variant<Claims, std::string> verify_token(std::string_view key, std::string_view token,
                                               std::int64_t now_ms);

// The claims of a token without checking anything, for `isla token revoke TOKEN` (the
// deny list takes the id; the node that writes it checks the caller, not this token).
std::optional<Claims> read_claims(std::string_view token);

}  // namespace isla::security
