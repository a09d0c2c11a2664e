#include "security/request_auth.hpp"

#include <charconv>
#include <vector>

#include "core/clock.hpp"
#include "security/crypto.hpp"
#include "security/island_secret.hpp"

namespace isla::security {

namespace {

template <class Integer>
std::optional<Integer> integer(std::string_view text) {
  Integer value{};
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc{} || end != text.data() + text.size() || text.empty()) {
    return std::nullopt;
  }
  return value;
}

std::int64_t distance(std::int64_t a, std::int64_t b) {
  return a > b ? a - b : b - a;
}

}  // namespace

std::optional<SignedFields> parse_auth_header(std::string_view value) {
  if (!value.starts_with("v1 ") || value.size() > 1024) return std::nullopt;
  value.remove_prefix(3);
  SignedFields fields;
  unsigned seen = 0;
  while (!value.empty()) {
    const auto end = value.find(' ');
    const auto item = value.substr(0, end);
    value = end == std::string_view::npos ? std::string_view() : value.substr(end + 1);
    const auto equals = item.find('=');
    if (equals == std::string_view::npos) return std::nullopt;
    const auto key = item.substr(0, equals);
    const auto text = item.substr(equals + 1);
    unsigned bit = 0;
    if (key == "node" && !text.empty() && text.size() <= 255) {
      fields.node = std::string(text);
      bit = 1;
    } else if (key == "inc") {
      auto parsed = integer<std::uint64_t>(text);
      if (!parsed) return std::nullopt;
      fields.incarnation = *parsed;
      bit = 2;
    } else if (key == "seq") {
      auto parsed = integer<std::uint64_t>(text);
      if (!parsed) return std::nullopt;
      fields.seq = *parsed;
      bit = 4;
    } else if (key == "ts") {
      auto parsed = integer<std::int64_t>(text);
      if (!parsed) return std::nullopt;
      fields.timestamp_ms = *parsed;
      bit = 8;
    } else if (key == "body" && is_lower_hex(text, 64, 64)) {
      fields.body_sha256 = std::string(text);
      bit = 16;
    } else if (key == "sig" && is_lower_hex(text, 64, 64)) {
      fields.signature = std::string(text);
      bit = 32;
    } else {
      return std::nullopt;
    }
    if ((seen & bit) != 0) return std::nullopt;  // a field twice: which one would count?
    seen |= bit;
  }
  if (seen != 63) return std::nullopt;
  return fields;
}

namespace {

// Appends the decimal form of `value` without a temporary string.
template <class Integer>
void append_decimal(std::string& out, Integer value) {
  char digits[24];
  const auto end = std::to_chars(digits, digits + sizeof digits, value).ptr;
  out.append(digits, end);
}

}  // namespace

std::string canonical_request(std::string_view method, std::string_view target,
                              std::string_view destination, const SignedFields& fields) {
  constexpr std::string_view kHeading = "isla-request-v1\n";
  std::string out;
  // Three 20-digit numbers, the 64-digit digest and the separators: one allocation.
  out.reserve(kHeading.size() + method.size() + target.size() + destination.size() +
              fields.node.size() + fields.body_sha256.size() + 3 * 20 + 8);
  out += kHeading;
  for (std::string_view part : {method, target, destination, std::string_view(fields.node)}) {
    out += part;
    out += '\n';
  }
  append_decimal(out, fields.incarnation);
  out += '\n';
  append_decimal(out, fields.seq);
  out += '\n';
  append_decimal(out, fields.timestamp_ms);
  out += '\n';
  out += fields.body_sha256;
  return out;
}

std::string body_digest(std::string_view body) {
  static const std::string empty = to_hex(sha256(""));
  return body.empty() ? empty : to_hex(sha256(body));
}

RequestSigner::RequestSigner(std::string key, std::string node, std::uint64_t incarnation)
    : key_(std::move(key)), node_(std::move(node)), incarnation_(incarnation) {}

std::string RequestSigner::authorization(const net::HttpRequest& request,
                                         std::string_view destination) const {
  return authorization_at(request, destination, core::wall_clock_ms());
}

std::string RequestSigner::authorization_at(const net::HttpRequest& request,
                                            std::string_view destination,
                                            std::int64_t now_ms) const {
  SignedFields fields;
  fields.node = node_;
  fields.incarnation = incarnation_;
  fields.seq = seq_.fetch_add(1, std::memory_order_relaxed) + 1;
  fields.timestamp_ms = now_ms;
  fields.body_sha256 = body_digest(request.body);
  fields.signature =
      to_hex(key_.mac(canonical_request(request.method, request.target, destination, fields)));
  std::string out;
  out.reserve(fields.node.size() + 3 * 20 + 2 * 64 + 32);
  out += "v1 node=";
  out += fields.node;
  out += " inc=";
  append_decimal(out, fields.incarnation);
  out += " seq=";
  append_decimal(out, fields.seq);
  out += " ts=";
  append_decimal(out, fields.timestamp_ms);
  out += " body=";
  out += fields.body_sha256;
  out += " sig=";
  out += fields.signature;
  return out;
}

std::shared_ptr<const net::RequestSigner> make_node_signer(std::string_view secret,
                                                           std::string node) {
  if (secret.empty()) return nullptr;
  return std::make_shared<RequestSigner>(derive_key(secret, "request"), std::move(node),
                                         static_cast<std::uint64_t>(core::wall_clock_ms()));
}

// One sender's replay window: the highest sequence number seen and which of the `window`
// numbers below it have been.
struct RequestVerifier::Sender {
  std::uint64_t incarnation = 0;
  std::uint64_t highest = 0;
  std::vector<std::uint64_t> seen;  // a bit per sequence number, modulo the window
  std::int64_t last_ms = 0;

  explicit Sender(std::uint64_t window) : seen((window + 63) / 64, 0) {}
  std::uint64_t window() const { return seen.size() * 64; }
  bool test(std::uint64_t seq) const { return (seen[(seq / 64) % seen.size()] >> (seq % 64)) & 1; }
  void set(std::uint64_t seq) { seen[(seq / 64) % seen.size()] |= std::uint64_t{1} << (seq % 64); }
  void clear(std::uint64_t seq) {
    seen[(seq / 64) % seen.size()] &= ~(std::uint64_t{1} << (seq % 64));
  }
  void restart(std::uint64_t new_incarnation) {
    incarnation = new_incarnation;
    highest = 0;
    std::fill(seen.begin(), seen.end(), 0);
  }
};

RequestVerifier::RequestVerifier(std::string key, std::string audience, VerifierOptions options)
    : key_(std::move(key)), audience_(std::move(audience)), options_(options) {}

RequestVerifier::~RequestVerifier() = default;

Verdict RequestVerifier::verify_head(const net::HttpRequest& head, std::int64_t now_ms) {
  const auto value = head.header(kAuthHeader);
  if (!value) return {false, "unsigned", ""};
  auto fields = parse_auth_header(*value);
  if (!fields) return {false, "malformed_signature", ""};
  // The destination is part of what was signed: a request captured on its way to one node
  // is no good at another. With a wildcard listener the signer's own view stands.
  const std::string_view destination =
      audience_.empty() ? head.header("Host").value_or("") : std::string_view(audience_);
  const auto expected = key_.mac(canonical_request(head.method, head.target, destination, *fields));
  if (!equal_in_constant_time(to_hex(expected), fields->signature)) {
    return {false, "bad_signature", ""};
  }
  if (distance(fields->timestamp_ms, now_ms) > options_.max_skew_ms) {
    return {false, "clock_skew", fields->node};
  }
  std::string reason;
  if (!accept_sequence(*fields, now_ms, &reason)) return {false, reason, fields->node};
  return {true, "", fields->node};
}

bool RequestVerifier::accept_sequence(const SignedFields& fields, std::int64_t now_ms,
                                      std::string* reason) {
  std::lock_guard lock(mutex_);
  auto found = senders_.find(fields.node);
  if (found == senders_.end()) {
    if (senders_.size() >= options_.max_senders) {
      auto oldest = senders_.begin();
      for (auto it = senders_.begin(); it != senders_.end(); ++it) {
        if (it->second->last_ms < oldest->second->last_ms) oldest = it;
      }
      senders_.erase(oldest);
    }
    found = senders_.emplace(fields.node, std::make_unique<Sender>(options_.window)).first;
    found->second->incarnation = fields.incarnation;
  }
  auto& sender = *found->second;
  // A lower incarnation is a replay of the sender's previous run, unless the sender has been
  // silent for longer than any request of that run could still be fresh: then it is a
  // restart after its clock was set back, and is taken as new (as the datagram window does),
  // instead of being shut out until this node restarts.
  const bool silent_long = now_ms - sender.last_ms > 2 * options_.max_skew_ms;
  if (fields.incarnation < sender.incarnation && !silent_long) {
    *reason = "old_incarnation";
    return false;
  }
  if (fields.incarnation != sender.incarnation) sender.restart(fields.incarnation);
  const auto seq = fields.seq;
  if (seq > sender.highest) {
    const auto step = seq - sender.highest;
    if (step >= sender.window()) {
      std::fill(sender.seen.begin(), sender.seen.end(), 0);
    } else {
      for (auto n = sender.highest + 1; n < seq; ++n) sender.clear(n);
    }
    sender.highest = seq;
    sender.set(seq);
  } else if (sender.highest - seq >= sender.window() || seq == 0) {
    *reason = "stale_sequence";
    return false;
  } else if (sender.test(seq)) {
    *reason = "replayed";
    return false;
  } else {
    sender.set(seq);
  }
  sender.last_ms = now_ms;
  return true;
}

bool RequestVerifier::body_matches(const net::HttpRequest& request) {
  const auto value = request.header(kAuthHeader);
  if (!value) return false;
  const auto fields = parse_auth_header(*value);
  return fields && equal_in_constant_time(body_digest(request.body), fields->body_sha256);
}

}  // namespace isla::security
