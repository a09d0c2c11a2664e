#pragma once
// Replay protection for signed membership datagrams: per sender, the newest incarnation and
// a sliding window over its sequence numbers (a 64-entry bitmap, as IPsec and WireGuard
// keep), plus a bound on how far the sender's timestamp may be from ours. Pure: the caller
// passes the time, and only datagrams that already passed the MAC check may reach it, so
// that nobody without the secret can create or move a sender's record.
#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>

namespace isla::membership {

struct ReplayOptions {
  // A datagram whose timestamp is further than this from our clock, either way, is dropped.
  // It also bounds what forgetting a sender (below) can let through: a replay of anything
  // older than this is stale whatever the window says.
  std::chrono::milliseconds max_skew{30'000};
  // Senders remembered; when full, the one heard from longest ago is forgotten.
  std::size_t max_senders = 4096;
};

enum class ReplayVerdict {
  fresh,            // accepted and recorded
  stale,            // timestamp more than max_skew in the past
  future,           // timestamp more than max_skew in the future
  old_incarnation,  // from before the sender's latest restart
  replayed,         // this sequence number was already accepted
  below_window,     // too far behind the newest sequence number to tell; dropped
};

// The label of the drop counter; "fresh" is not a drop.
const char* to_string(ReplayVerdict verdict);

class ReplayWindow {
 public:
  static constexpr std::uint64_t kWindow = 64;

  explicit ReplayWindow(ReplayOptions options = {}) : options_(options) {}

  // Judges a datagram from `sender` sent at `sent_ms` (its `ts`) when our clock reads
  // `now_ms`, both ms since the Unix epoch; records it when fresh. A sender silent for more
  // than twice the skew starts afresh: everything it sent before is stale by then, and a
  // node restarted after its clock was set back (a lower incarnation) is not shut out.
  ReplayVerdict check(std::string_view sender, std::uint64_t incarnation, std::uint64_t seq,
                      std::uint64_t sent_ms, std::uint64_t now_ms);

  std::size_t senders() const { return senders_.size(); }

 private:
  struct Sender {
    std::uint64_t incarnation = 0;
    std::uint64_t highest = 0;  // newest seq accepted in this incarnation
    std::uint64_t seen = 0;     // bit i: highest - i was accepted
    std::uint64_t last_used = 0;
    std::uint64_t last_fresh_ms = 0;  // our clock when it last sent a fresh one
  };

  ReplayVerdict slide(Sender& sender, std::uint64_t seq);
  Sender& admit_new(std::string_view name);

  ReplayOptions options_;
  std::map<std::string, Sender, std::less<>> senders_;
  std::uint64_t uses_ = 0;  // a logical clock for choosing whom to forget
};

}  // namespace isla::membership
