#include "security/token.hpp"

#include <boost/json.hpp>

#include "security/crypto.hpp"

namespace isla::security {

namespace json = boost::json;

namespace {

constexpr std::string_view kPrefix = "isla1.";

std::string sign(std::string_view key, std::string_view signed_part) {
  const auto mac = hmac_sha256(key, signed_part);
  return to_base64url(std::string_view(reinterpret_cast<const char*>(mac.data()), mac.size()));
}

std::optional<Claims> claims_from(std::string_view payload) {
  const auto text = from_base64url(payload);
  if (!text) return std::nullopt;
  boost::system::error_code error;
  auto value = json::parse(*text, error);
  if (error || !value.is_object()) return std::nullopt;
  const auto& object = value.as_object();
  const auto* subject = object.if_contains("sub");
  const auto* role = object.if_contains("role");
  const auto* issued = object.if_contains("iat");
  const auto* expires = object.if_contains("exp");
  const auto* id = object.if_contains("jti");
  if (!subject || !subject->is_string() || !role || !role->is_string() || !issued ||
      !issued->is_int64() || !expires || !expires->is_int64() || !id || !id->is_string()) {
    return std::nullopt;
  }
  auto parsed_role = role_from(role->as_string());
  if (!parsed_role) return std::nullopt;
  return Claims{std::string(subject->as_string()), *parsed_role, issued->as_int64(),
                expires->as_int64(), std::string(id->as_string())};
}

// Splits "isla1.<payload>.<mac>"; nullopt for anything else.
std::optional<std::pair<std::string_view, std::string_view>> split(std::string_view token) {
  if (token.size() > kMaxTokenBytes || !token.starts_with(kPrefix)) return std::nullopt;
  const auto rest = token.substr(kPrefix.size());
  const auto dot = rest.find('.');
  if (dot == std::string_view::npos || rest.find('.', dot + 1) != std::string_view::npos) {
    return std::nullopt;
  }
  return std::pair{rest.substr(0, dot), rest.substr(dot + 1)};
}

}  // namespace

const char* to_string(Role role) {
  switch (role) {
    case Role::read:
      return "read";
    case Role::write:
      return "write";
    case Role::admin:
      return "admin";
  }
  return "read";
}

std::optional<Role> role_from(std::string_view text) {
  if (text == "read") return Role::read;
  if (text == "write") return Role::write;
  if (text == "admin") return Role::admin;
  return std::nullopt;
}

std::string mint_token(std::string_view key, const Claims& claims) {
  const json::object object{{"sub", claims.subject},
                            {"role", to_string(claims.role)},
                            {"iat", claims.issued_ms},
                            {"exp", claims.expires_ms},
                            {"jti", claims.id}};
  const std::string signed_part = std::string(kPrefix) + to_base64url(json::serialize(object));
  return signed_part + "." + sign(key, signed_part);
}

std::variant<Claims, std::string> verify_token(std::string_view key, std::string_view token,
                                               std::int64_t now_ms) {
  const auto parts = split(token);
  if (!parts) return std::string("not an isla token (isla1.<claims>.<signature>)");
  const auto signed_part = token.substr(0, kPrefix.size() + parts->first.size());
  if (!equal_in_constant_time(sign(key, signed_part), parts->second)) {
    return std::string("token signature is not valid for this island");
  }
  auto claims = claims_from(parts->first);
  if (!claims) return std::string("token claims are malformed");
  if (claims->expires_ms <= now_ms) return std::string("token has expired");
  return *claims;
}

std::optional<Claims> read_claims(std::string_view token) {
  const auto parts = split(token);
  if (!parts) return std::nullopt;
  return claims_from(parts->first);
}

}  // namespace isla::security
