#include "membership/replay_window.hpp"

#include <algorithm>

namespace isla::membership {

const char* to_string(ReplayVerdict verdict) {
  switch (verdict) {
    case ReplayVerdict::fresh:
      return "fresh";
    case ReplayVerdict::stale:
      return "stale";
    case ReplayVerdict::future:
      return "future";
    case ReplayVerdict::old_incarnation:
      return "old_incarnation";
    case ReplayVerdict::replayed:
      return "replayed";
    case ReplayVerdict::below_window:
      return "below_window";
  }
  return "unknown";
}

ReplayVerdict ReplayWindow::check(std::string_view name, std::uint64_t incarnation,
                                  std::uint64_t seq, std::uint64_t sent_ms, std::uint64_t now_ms) {
  const auto skew = static_cast<std::uint64_t>(options_.max_skew.count());
  if (sent_ms > now_ms && sent_ms - now_ms > skew) return ReplayVerdict::future;
  if (now_ms > sent_ms && now_ms - sent_ms > skew) return ReplayVerdict::stale;

  auto found = senders_.find(name);
  Sender& sender = found != senders_.end() ? found->second : admit_new(name);
  const bool new_sender = found == senders_.end() || (now_ms > sender.last_fresh_ms &&
                                                      now_ms - sender.last_fresh_ms > 2 * skew);
  if (!new_sender && incarnation < sender.incarnation) return ReplayVerdict::old_incarnation;
  if (new_sender || incarnation > sender.incarnation) {
    // A restart (or the first we hear of it): its sequence numbers start again.
    sender.incarnation = incarnation;
    sender.highest = seq;
    sender.seen = 1;
  } else if (const auto verdict = slide(sender, seq); verdict != ReplayVerdict::fresh) {
    return verdict;
  }
  sender.last_used = ++uses_;
  sender.last_fresh_ms = now_ms;
  return ReplayVerdict::fresh;
}

ReplayVerdict ReplayWindow::slide(Sender& sender, std::uint64_t seq) {
  if (seq > sender.highest) {
    const auto ahead = seq - sender.highest;
    sender.seen = ahead >= kWindow ? 0 : sender.seen << ahead;
    sender.seen |= 1;
    sender.highest = seq;
    return ReplayVerdict::fresh;
  }
  // Behind the newest: accepted once if still inside the window (UDP may reorder).
  const auto behind = sender.highest - seq;
  if (behind >= kWindow) return ReplayVerdict::below_window;
  const std::uint64_t bit = std::uint64_t{1} << behind;
  if ((sender.seen & bit) != 0) return ReplayVerdict::replayed;
  sender.seen |= bit;
  return ReplayVerdict::fresh;
}

ReplayWindow::Sender& ReplayWindow::admit_new(std::string_view name) {
  // Linear, but only for a signed datagram from an address not seen before while the table
  // is full: senders are the island's own nodes, so this is rare.
  if (senders_.size() >= std::max<std::size_t>(options_.max_senders, 1)) {
    auto oldest = std::min_element(
        senders_.begin(), senders_.end(),
        [](const auto& a, const auto& b) { return a.second.last_used < b.second.last_used; });
    senders_.erase(oldest);
  }
  return senders_.emplace(std::string(name), Sender{}).first->second;
}

}  // namespace isla::membership
