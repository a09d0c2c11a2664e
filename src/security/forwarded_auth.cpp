#include "security/forwarded_auth.hpp"

#include <charconv>

#include "security/island_secret.hpp"

namespace isla::security {

namespace {

std::optional<std::int64_t> parse_timestamp(std::string_view text) {
  std::int64_t value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || error != std::errc{} || end != text.data() + text.size()) return std::nullopt;
  return value;
}

std::string_view last_entry(std::string_view list) {
  const auto comma = list.rfind(',');
  auto entry = comma == std::string_view::npos ? list : list.substr(comma + 1);
  while (!entry.empty() && (entry.front() == ' ' || entry.front() == '\t')) entry.remove_prefix(1);
  while (!entry.empty() && (entry.back() == ' ' || entry.back() == '\t')) entry.remove_suffix(1);
  return entry;
}

}  // namespace

std::string canonical_forwarded(std::string_view method, std::string_view target,
                                std::string_view destination, std::string_view forwarded_for,
                                std::string_view forwarded_proto, std::int64_t timestamp_ms) {
  std::string out = "isla-forwarded-v1\n";
  out.reserve(out.size() + method.size() + target.size() + destination.size() +
              forwarded_for.size() + forwarded_proto.size() + 32);
  out.append(method).append("\n");
  out.append(target).append("\n");
  out.append(destination).append("\n");
  out.append(forwarded_for).append("\n");
  out.append(forwarded_proto).append("\n");
  out.append(std::to_string(timestamp_ms));
  return out;
}

ForwardedSigner::ForwardedSigner(std::string_view secret) : key_(derive_key(secret, "forwarded")) {}

std::string ForwardedSigner::sign(const net::HttpRequest& request, std::string_view destination,
                                  std::int64_t now_ms) const {
  const auto canonical = canonical_forwarded(
      request.method, request.target, destination, request.header("X-Forwarded-For").value_or(""),
      request.header("X-Forwarded-Proto").value_or(""), now_ms);
  return "v1 ts=" + std::to_string(now_ms) + " sig=" + to_hex(key_.mac(canonical));
}

ForwardedVerifier::ForwardedVerifier(std::string_view secret, std::string audience,
                                     std::int64_t max_skew_ms)
    : key_(derive_key(secret, "forwarded")),
      audience_(std::move(audience)),
      max_skew_ms_(max_skew_ms) {}

std::optional<std::string> ForwardedVerifier::trusted_client(const net::HttpRequest& head,
                                                             std::int64_t now_ms) const {
  auto value = head.header(kForwardedAuthHeader);
  const auto forwarded_for = head.header("X-Forwarded-For");
  if (!value || !forwarded_for || !value->starts_with("v1 ts=") || value->size() > 256) {
    return std::nullopt;
  }
  auto rest = value->substr(6);
  const auto space = rest.find(" sig=");
  if (space == std::string_view::npos) return std::nullopt;
  const auto timestamp = parse_timestamp(rest.substr(0, space));
  const auto signature = rest.substr(space + 5);
  if (!timestamp) return std::nullopt;
  const auto distance = *timestamp > now_ms ? *timestamp - now_ms : now_ms - *timestamp;
  if (distance > max_skew_ms_) return std::nullopt;
  const std::string_view destination =
      audience_.empty() ? head.header("Host").value_or("") : std::string_view(audience_);
  const auto expected = to_hex(
      key_.mac(canonical_forwarded(head.method, head.target, destination, *forwarded_for,
                                   head.header("X-Forwarded-Proto").value_or(""), *timestamp)));
  if (!equal_in_constant_time(expected, signature)) return std::nullopt;
  const auto client = last_entry(*forwarded_for);
  if (client.empty()) return std::nullopt;
  return std::string(client);
}

}  // namespace isla::security
