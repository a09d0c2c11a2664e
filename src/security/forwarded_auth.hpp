#pragma once
// The balancer's word on who its client was. A gateway behind `isla balancer` sees the
// balancer's address as its peer; the balancer names the client in X-Forwarded-For and signs
// that with the island secret in one header,
//   Isla-Forwarded-Auth: v1 ts=MS sig=HMACHEX
// over the method, the target, the address the request was sent to, the X-Forwarded-For
// and X-Forwarded-Proto values and the time (key: derive_key(secret, "forwarded")). A gateway
// believes X-Forwarded-For only with a good signature; anything else (a client writing the
// header itself, a stale or misdirected signature) leaves the peer address as the client.
//
// Deliberately not Isla-Auth: that signature makes its bearer a node, with every node route
// open to it, and the balancer's clients must stay clients (their tokens pass through
// untouched). No sequence number either: a replay within the skew window can only repeat the
// same method and target with the same claimed client, which gains the replayer nothing its
// own address would not.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "net/http_types.hpp"
#include "security/crypto.hpp"

namespace isla::security {

inline constexpr std::string_view kForwardedAuthHeader = "Isla-Forwarded-Auth";

// What the signature covers, one line each.
std::string canonical_forwarded(std::string_view method, std::string_view target,
                                std::string_view destination, std::string_view forwarded_for,
                                std::string_view forwarded_proto, std::int64_t timestamp_ms);

class ForwardedSigner {
 public:
  // `secret`: the island secret (raw bytes).
  explicit ForwardedSigner(std::string_view secret);
  // The header value for `request` (its X-Forwarded-For and -Proto already set) to
  // `destination` ("host:port", as the backend is dialled).
  std::string sign(const net::HttpRequest& request, std::string_view destination,
                   std::int64_t now_ms) const;

 private:
  HmacSha256Key key_;
};

class ForwardedVerifier {
 public:
  // `audience`: this node's address as the balancer dials it; empty (a wildcard listener)
  // takes the request's Host header instead.
  ForwardedVerifier(std::string_view secret, std::string audience,
                    std::int64_t max_skew_ms = 30'000);

  // The client's IP address (the last X-Forwarded-For entry: the one the balancer added
  // itself) when the request carries a good signature; nullopt otherwise.
  std::optional<std::string> trusted_client(const net::HttpRequest& head,
                                            std::int64_t now_ms) const;

 private:
  HmacSha256Key key_;
  std::string audience_;
  std::int64_t max_skew_ms_;
};

}  // namespace isla::security
