#pragma once
// The gateways' failure detector: SWIM (Das, Gupta, Motivala 2002) with Lifeguard's local
// health and dynamic suspicion timeout (Dadgar et al. 2018), shaped after hashicorp/memberlist.
//
// Pure, like consensus::Raft and the routing table: no socket, no thread, no clock read. The
// caller feeds it the datagrams it received (already decoded, their MAC and replay checked)
// and the time, calls tick() whenever next_wakeup() is due, and sends what comes back. It
// fills type, node, incarnation, load, draining, probe, target and gossip of every outgoing
// datagram; the caller adds role, island, ts and seq, then signs.
//
// A round: every probe_interval one member is pinged; without an ack within probe_timeout,
// indirect_probes other members are asked to ping it (ping_req) and relay its ack, or say
// they did not hear it (nack); without any ack by the end of the interval it is suspected.
// A suspect that does not refute (a higher incarnation, which only it can make) before the
// suspicion timeout is declared dead. Updates travel as gossip piggybacked on every datagram;
// the ones a member makes itself (a suspicion, a death, a refutation) are also sent at once to
// every live member, because an island is tens of gateways and the goal is a death seen
// everywhere within a second.
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "core/backoff.hpp"
#include "core/clock.hpp"
#include "core/random.hpp"
#include "membership/datagram.hpp"
#include "membership/gossip_queue.hpp"
#include "membership/local_health.hpp"
#include "membership/probe_schedule.hpp"
#include "membership/suspicion.hpp"

namespace isla::membership {

struct SwimOptions {
  // One member is probed per interval; the interval and the timeouts below are stretched by
  // the local health score (x1 healthy .. x(max_local_health+1)).
  std::chrono::milliseconds probe_interval{100};
  // How long the direct ack may take before relays are asked; a late direct ack still counts
  // until the interval ends.
  std::chrono::milliseconds probe_timeout{30};
  std::size_t indirect_probes = 3;  // relays asked (k); fewer when fewer members are alive
  // Suspicion timeout, in probe intervals: it shrinks from max to min as other members
  // confirm, min = suspicion_multiplier * max(1, log10(members)) intervals and max =
  // suspicion_max_multiplier * min. With fewer than suspicion_confirmations members who could
  // confirm, it is min from the start.
  double suspicion_multiplier = 3.0;
  double suspicion_max_multiplier = 2.0;
  std::size_t suspicion_confirmations = 2;
  int max_local_health = 8;
  // Each update is piggybacked this many times x ceil(log10(members + 1)).
  std::size_t gossip_retransmit_multiplier = 4;
  std::size_t gossip_per_datagram = 6;  // encode() drops what does not fit in 1200 bytes
  // How long a dead or departed member is remembered, so that stale gossip about it cannot
  // bring it back at the incarnation it died with. Longer than any gossip lives.
  std::chrono::milliseconds dead_retention{30'000};
  // Every interval one remembered dead member is pinged: after a partition heals, that is how
  // the two sides find each other again (it refutes its death when it hears of it).
  std::chrono::milliseconds reconnect_interval{1000};
  // Seeds that have not answered yet are pinged with this backoff.
  core::BackoffOptions join_backoff{std::chrono::milliseconds(100), std::chrono::milliseconds(2000),
                                    2.0, 0.5};
  // Entries sent to a member heard from for the first time (or back from the dead), so that
  // it learns the island without waiting for gossip; in datagrams of gossip_per_datagram.
  std::size_t join_push_entries = 48;
  // Bounds on what other members (or a forger who has the secret) can make us hold.
  std::size_t max_members = 1024;
  std::size_t max_relays = 64;    // ping_req probes in flight on others' behalf
  std::size_t max_events = 1024;  // undrained events beyond this drop the oldest
};

struct Member {
  std::string address;  // HOST:PORT
  MemberState state = MemberState::alive;
  std::uint64_t incarnation = 0;
  Load load;  // as of its latest datagram
  bool draining = false;
  core::SteadyTime last_contact{};  // its latest datagram to us; epoch if none yet
  core::SteadyTime state_since{};
};

// A change of a member's state, for the event log and the routing of requests.
struct MemberEvent {
  std::string address;
  std::optional<MemberState> from;  // nullopt: the member was not known
  MemberState to = MemberState::alive;
  std::uint64_t incarnation = 0;
  const char* reason = "";  // joined, suspected, refuted, died, left, rejoined
  core::SteadyTime at{};
};

struct Outgoing {
  std::string to;  // HOST:PORT
  Datagram datagram;
};

class Swim {
 public:
  // `incarnation` must grow across restarts (the wall clock in ms does), so that a restarted
  // member is taken as alive again.
  Swim(std::string self_address, std::uint64_t incarnation, SwimOptions options,
       core::Random& random);

  // A configured seed: pinged (with backoff) until it answers, then probed like any member;
  // pinged again if it is ever forgotten.
  void add_seed(const std::string& address);

  // Probe schedule, timeouts, suspicion expiry, relays' nacks, seeds, forgetting.
  std::vector<Outgoing> tick(core::SteadyTime now);
  // Call tick() no later than this.
  core::SteadyTime next_wakeup() const;

  // A datagram from another gateway of the island, already authenticated and replay-checked.
  std::vector<Outgoing> on_datagram(const Datagram& datagram, core::SteadyTime now);

  void set_local_load(const Load& load) { load_ = load; }
  void set_draining(bool draining) { draining_ = draining; }
  // A bye to every live member; the detector is silent afterwards.
  std::vector<Outgoing> leave(core::SteadyTime now);

  std::vector<Member> members() const;  // sorted by address, without ourselves
  std::optional<Member> member(const std::string& address) const;
  std::vector<MemberEvent> take_events();
  const std::string& address() const { return self_; }
  std::uint64_t incarnation() const { return incarnation_; }  // grows with each refutation
  int local_health() const { return health_.score(); }

 private:
  struct Record {
    Member member;
    std::optional<Suspicion> suspicion;
  };
  // Our probe of this interval.
  struct Probe {
    std::string target;
    std::uint64_t id = 0;
    core::SteadyTime indirect_at{};  // relays are asked then, if no ack came
    core::SteadyTime ends{};         // suspected then, if still no ack
    bool acked = false;
    bool indirect_sent = false;
    std::set<std::string> relays;
    std::set<std::string> nacked;
  };
  // A probe made for another member's ping_req.
  struct Relay {
    std::string requester;
    std::uint64_t requester_probe = 0;
    std::string target;
    core::SteadyTime nack_at{};
    core::SteadyTime expires{};  // a late ack is still relayed until then
    bool nacked = false;
  };

  // Incoming.
  void hear_from(const Datagram& datagram, core::SteadyTime now);
  void apply(const GossipEntry& entry, core::SteadyTime now);
  void apply_about_self(const GossipEntry& entry);
  void on_ping(const Datagram& datagram);
  void on_ping_req(const Datagram& datagram, core::SteadyTime now);
  void on_ack(const Datagram& datagram);
  void on_nack(const Datagram& datagram);

  // State changes (SWIM's precedence rules live here).
  bool accept_alive(const std::string& address, std::uint64_t incarnation,
                    const std::optional<Load>& load, core::SteadyTime now);
  void suspect(const std::string& address, std::uint64_t incarnation, const std::string& accuser,
               core::SteadyTime now);
  void bury(const std::string& address, std::uint64_t incarnation, MemberState how,
            core::SteadyTime now);
  void refute(std::uint64_t heard_incarnation);
  Record* add_member(const std::string& address, std::uint64_t incarnation, core::SteadyTime now);
  void change_state(Record& record, MemberState to, std::uint64_t incarnation, const char* reason,
                    core::SteadyTime now);

  // Time.
  void run_probe(core::SteadyTime now);
  void start_probe(core::SteadyTime now);
  void ask_relays(core::SteadyTime now);
  void finish_probe(core::SteadyTime now);
  void run_relays(core::SteadyTime now);
  void expire_suspicions(core::SteadyTime now);
  void join_seeds(core::SteadyTime now);
  void reconnect_dead(core::SteadyTime now);
  void forget_departed(core::SteadyTime now);

  // Outgoing.
  Datagram datagram(DatagramType type) const;
  void send(const std::string& to, Datagram datagram);
  void send_with_gossip(const std::string& to, Datagram datagram);
  std::optional<GossipEntry> what_we_think_of(const std::string& member) const;
  void announce(GossipEntry entry);  // gossip it, and send it to every live member now
  void flush_announcements();
  void push_members_to(const std::string& address);
  std::vector<Outgoing> take_outgoing();

  // Sizes that follow the island's.
  std::size_t live_count() const;  // alive or suspect, ourselves included
  std::size_t gossip_limit() const;
  Suspicion new_suspicion(const std::string& accuser, core::SteadyTime now) const;

  bool is_live(const std::string& address) const;
  std::vector<std::string> live_members_except(const std::string& excluded) const;

  std::string self_;
  std::uint64_t incarnation_;
  SwimOptions options_;
  core::Random& random_;
  Load load_;
  bool draining_ = false;
  bool left_ = false;

  std::map<std::string, Record> members_;
  ProbeSchedule schedule_;
  GossipQueue gossip_;
  LocalHealth health_;
  std::optional<Probe> probe_;
  core::SteadyTime next_probe_at_{};
  std::map<std::uint64_t, Relay> relays_;  // by the id of our ping to the target
  std::uint64_t next_probe_id_;

  std::set<std::string> configured_seeds_;
  std::set<std::string> unjoined_seeds_;
  core::Backoff join_backoff_;
  core::SteadyTime next_join_at_{};
  core::SteadyTime next_reconnect_at_{};

  std::vector<GossipEntry> announcements_;
  std::vector<Outgoing> outgoing_;
  std::deque<MemberEvent> events_;
};

}  // namespace isla::membership
