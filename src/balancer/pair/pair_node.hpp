#pragma once
// One member of the balancers' active/standby pair, as a deterministic core: time comes from
// a core::Clock, datagrams come in through on_datagram() and go out through `send`, the
// address moves through a ServiceAddress, terms go to a TermFile. PairDriver (pair_driver.hpp)
// gives it a UDP socket and a timer; the tests give it a simulated network and a fake clock.
//
// What it does:
// - Runs a BullyElector (election/bully.hpp) between the two members. Every datagram is a
//   sign of life; from the leader, each also carries a heartbeat for the elector. No datagram
//   from the peer for peer_timeout: the survivor drops it from the election and leads at once.
// - Fencing: the elector's terms are ballots (term.hpp); a member that hears a higher term
//   than the one it holds the address with releases the address before it does anything
//   else. A member that wins while the peer is alive claims only once the peer's datagrams
//   say it holds nothing at the new term: the old holder lets go first.
// - The highest term known goes to the term file before the node acts on it (claims the
//   address, sends a message carrying it), so after a restart its first term is above it.
//   The term it would lead next is written ahead, so that a takeover waits for no fsync.
// - Optionally (AddressLease), the leader claims only while it holds the store lease of the
//   address for its term, and lets go when the lease is lost or lapses.
// - A leader that cannot reach the store for a whole lease TTL steps aside: it announces
//   priority 0, so that a peer which still reaches the store bullies in and serves, instead of
//   the pair staying without a holder until the store comes back for this member. Once probes
//   (AddressLease::probe) have found the store for a whole TTL, it stands again at its own
//   priority (and, being higher, takes the address back as any returning member does).
//
// A partition between the two makes both active, each in its own half: that is what VRRP
// does, and with two members there is no majority to ask. When it heals, the lower term
// steps down at the first datagram it hears, so exactly one holder remains; the store lease,
// where the store is reachable from both halves, prevents the second holder during it.
//
// Not thread-safe: call from one strand.
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "balancer/pair/address_lease.hpp"
#include "balancer/pair/heartbeat_codec.hpp"
#include "balancer/pair/pair_options.hpp"
#include "balancer/pair/pair_status.hpp"
#include "balancer/pair/service_address.hpp"
#include "balancer/pair/term_file.hpp"
#include "core/clock.hpp"
#include "election/bully.hpp"
#include "membership/replay_window.hpp"

namespace isla::balancer::pair {

// Role changes, for the balancer (and its logs). Both run on the pair's strand.
struct PairEvents {
  // This member now holds the address, for `term`.
  std::function<void(election::Term term)> on_active;
  // This member holds nothing; `leader` leads `term` when known.
  std::function<void(election::Term term, std::optional<std::string> leader)> on_standby;
};

class PairNode {
 public:
  using Send = std::function<void(std::string datagram)>;
  using WallClock = std::function<std::uint64_t()>;  // ms since the Unix epoch

  // `address`, `terms`, `clock` and `lease` (optional) must outlive the node.
  PairNode(PairOptions options, ServiceAddress& address, TermFile& terms, const core::Clock& clock,
           WallClock wall_clock, Send send, AddressLease* lease = nullptr, PairEvents events = {});
  ~PairNode();
  PairNode(const PairNode&) = delete;
  PairNode& operator=(const PairNode&) = delete;

  // Reads the term file, releases a stale address, and starts listening for the peer.
  void start();
  void on_datagram(std::string_view bytes);
  void tick();
  // Graceful stop: releases the address (and the lease) and says so to the peer, which then
  // takes over without waiting for the peer timeout.
  void stop();

  PairStatus status() const;
  PairRole role() const { return role_; }
  bool holds_address() const { return holds_; }
  election::Term term() const { return elector_->term(); }
  bool peer_alive() const { return peer_alive_; }

 private:
  election::BullyOptions elector_options(election::Term initial_term) const;
  void deliver(std::vector<election::Outgoing> out);
  void reconcile();
  // Sends the pending election messages, and a beat when one is due (or `force`).
  void flush(core::SteadyTime now, bool force = false);
  // True when `term` (or a higher one) is on disk.
  bool persist_term(election::Term term);
  void release_address(const char* why);
  void claim_address();
  void ask_lease(election::Term term);
  void on_lease(election::Term term, LeaseVerdict verdict);
  // Steps aside (priority 0) when the store has not answered a leader for a whole TTL.
  void step_aside_if_store_silent(core::SteadyTime now);
  void probe_store(core::SteadyTime now);
  void on_probe(bool reachable);
  void store_answered(core::SteadyTime now);
  void announce_priority(std::uint32_t priority);
  bool peer_let_go() const;
  void update_peer_liveness(core::SteadyTime now);
  void send_beat(std::vector<election::ElectionMessage> messages);
  void set_role(PairRole role);
  void drop(const std::string& reason);

  PairOptions options_;
  ServiceAddress& address_;
  TermFile& terms_;
  const core::Clock& clock_;
  WallClock wall_clock_;
  Send send_;
  AddressLease* lease_;
  PairEvents events_;

  std::unique_ptr<election::BullyElector> elector_;
  election::Candidate self_;
  std::string peer_id_;
  membership::ReplayWindow replay_;
  std::uint64_t incarnation_ = 0;
  std::uint64_t seq_ = 0;
  bool started_ = false;
  bool stopped_ = false;

  // The peer, as its datagrams tell.
  bool peer_alive_ = true;  // until peer_timeout passes without a word, from start
  core::SteadyTime peer_heard_{};
  bool heard_peer_ever_ = false;
  election::Term peer_term_ = 0;
  bool peer_holds_ = false;

  // The address.
  bool holds_ = false;
  election::Term held_term_ = 0;
  core::SteadyTime next_beat_{};
  std::vector<election::ElectionMessage> pending_;  // to the peer, in the next datagram
  bool persist_failed_ = false;                     // the term could not be kept: claim nothing

  // The store lease.
  // Keep in step with the names in PairNode::status().
  enum class LeaseState { off, pending, held, lost, unavailable };
  LeaseState lease_state_ = LeaseState::off;
  election::Term lease_term_ = 0;  // the term the state is about
  bool lease_in_flight_ = false;
  bool lease_unavailable_ = false;      // the last answer was `unavailable`
  core::SteadyTime lease_confirmed_{};  // the last `held` answer
  core::SteadyTime next_lease_ask_{};
  // Whether this member reaches the store, as a leader's lease asks or a standby's probes tell.
  bool store_reachable_ = true;
  core::SteadyTime store_answered_{};  // the store's last answer (held, lost, a probe's yes)
  std::optional<core::SteadyTime> reachable_since_;  // probes say yes since then, unbroken
  bool probe_in_flight_ = false;
  core::SteadyTime next_probe_{};
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);  // for late lease answers

  PairRole role_ = PairRole::starting;
  election::Term announced_term_ = 0;
  std::optional<std::string> announced_leader_;
  std::int64_t last_change_ms_ = 0;
  PairStatus counters_;  // takeovers, releases, beats, drops
  std::string term_file_problem_;
};

}  // namespace isla::balancer::pair
