#pragma once
// ElectionMessage as JSON, for a signed datagram or an HTTP body (the gateway carries it; the
// signature is the carrier's business). Decoding validates strictly: kinds, ids (HOST:PORT),
// numbers, the fields each kind needs, and sizes; it names the reason for a refusal, for logs
// and counters. Fields a kind does not use are ignored, as are unknown ones, so that a newer
// sender can add fields during a rolling upgrade.
#include <boost/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "election/election.hpp"

namespace isla::election {

// A ring election lists every live member of the island; more than this is refused.
inline constexpr std::size_t kMaxCandidates = 64;
// "[" + 253-byte host + "]:65535"
inline constexpr std::size_t kMaxNodeIdBytes = 262;
// The largest text decode() reads: a full list of candidates with the longest ids fits.
inline constexpr std::size_t kMaxMessageBytes = 32 * 1024;

boost::json::object to_json(const ElectionMessage& message);
std::string encode(const ElectionMessage& message);

struct DecodedMessage {
  std::optional<ElectionMessage> message;
  std::string rejection;  // e.g. "too_large", "bad_json", "bad_kind", "too_many_candidates"
};

DecodedMessage from_json(const boost::json::value& value);
DecodedMessage decode(std::string_view text);

}  // namespace isla::election
