#pragma once
// Node-to-node HTTP requests signed with the island secret (docs/api.md#signed-requests).
// The signature travels in one header,
//   Isla-Auth: v1 node=ADDR inc=N seq=N ts=MS body=SHA256HEX sig=HMACHEX
// over the method, the target, the address the request was sent to, the sender, its
// incarnation and sequence number, the time and the body's digest. The head alone is
// checked before the body is read (a stranger's body is never received); the digest is
// checked once the body is in.
//
// Replays are refused per sender, the way IPsec and WireGuard do for packets: each sender
// numbers its requests (one counter per process, shared by its clients), and a receiver
// keeps the highest number seen per sender and a window of the numbers below it. That
// bounds the receiver's memory by the number of senders, not by the request rate, which a
// nonce cache could not (50,000 requests a second for a 30 s skew window is 1.5 M nonces).
#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "net/http_types.hpp"
#include "security/crypto.hpp"

namespace isla::security {

inline constexpr std::string_view kAuthHeader = "Isla-Auth";

struct SignedFields {
  std::string node;
  std::uint64_t incarnation = 0;
  std::uint64_t seq = 0;
  std::int64_t timestamp_ms = 0;
  std::string body_sha256;  // hex
  std::string signature;    // hex
};

// Parses an Isla-Auth value; nullopt when it is not one.
std::optional<SignedFields> parse_auth_header(std::string_view value);

// What the signature covers, in order; one line each.
std::string canonical_request(std::string_view method, std::string_view target,
                              std::string_view destination, const SignedFields& fields);

// The hex SHA-256 of `body`, with the empty body's (most internal GETs) computed once.
std::string body_digest(std::string_view body);

class RequestSigner final : public net::RequestSigner {
 public:
  // `key` is derive_key(secret, "request"); `node` is this node's address; `incarnation`
  // must grow across restarts (the start time in ms does).
  RequestSigner(std::string key, std::string node, std::uint64_t incarnation);
  std::string authorization(const net::HttpRequest& request,
                            std::string_view destination) const override;
  // The same, at a given time, for tests and the fuzzer's corpus.
  std::string authorization_at(const net::HttpRequest& request, std::string_view destination,
                               std::int64_t now_ms) const;

 private:
  HmacSha256Key key_;
  std::string node_;
  std::uint64_t incarnation_;
  mutable std::atomic<std::uint64_t> seq_{0};
};

// The signer of a node's calls: one per process, shared by all its clients (their requests
// share one sequence). Null when `secret` is empty. Its incarnation is the start time.
std::shared_ptr<const net::RequestSigner> make_node_signer(std::string_view secret,
                                                           std::string node);

struct VerifierOptions {
  std::int64_t max_skew_ms = 30'000;  // a request dated further from our clock is refused
  std::uint64_t window = 8192;        // sequence numbers below the highest still accepted once
  std::size_t max_senders = 1024;     // senders remembered; the longest silent is forgotten
};

struct Verdict {
  bool ok = false;
  std::string reason;  // short, for the audit log and the 401's body: "bad_signature", ...
  std::string node;    // the sender, when the signature was good
};

class RequestVerifier {
 public:
  // `audience`: the address this node is reached at; a request signed for another node is
  // refused. Empty (a wildcard listener) skips that check.
  RequestVerifier(std::string key, std::string audience, VerifierOptions options = {});
  ~RequestVerifier();

  // Checks the head of a request (everything but the body's digest), and records its
  // sequence number when it passes.
  Verdict verify_head(const net::HttpRequest& head, std::int64_t now_ms);
  // Whether a request whose head passed carries the body it was signed with.
  static bool body_matches(const net::HttpRequest& request);

 private:
  struct Sender;
  bool accept_sequence(const SignedFields& fields, std::int64_t now_ms, std::string* reason);

  HmacSha256Key key_;
  std::string audience_;
  VerifierOptions options_;
  std::mutex mutex_;
  std::unordered_map<std::string, std::unique_ptr<Sender>> senders_;
};

}  // namespace isla::security
