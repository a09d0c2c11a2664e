#pragma once
// Every tunable of the balancer pair, with its unit in its name (STYLE.md). `isla balancer`
// fills it from --heartbeat, --peer, --priority, --heartbeat-interval-ms, --pair-term-file and
// the island secret (docs/configuration.md#balancer-pair).
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>

#include "core/endpoint.hpp"
#include "membership/replay_window.hpp"

namespace isla::balancer::pair {

struct PairOptions {
  core::Endpoint heartbeat;      // this member's UDP address for the pair's datagrams; its id
  core::Endpoint peer;           // the other member's heartbeat address
  std::uint32_t priority = 100;  // the higher priority leads (then the greater address)

  // The leader's heartbeat period, as the Bully elector counts it.
  std::chrono::milliseconds heartbeat_interval{100};
  // Each member sends this many datagrams per heartbeat interval, every one a sign of life
  // (and, from the leader, a heartbeat): a lost datagram or two then never looks like a dead
  // peer, and the peer timeout can stay below three heartbeat intervals.
  int beats_per_interval = 4;
  // No datagram from the peer for this long: it is dead, and the survivor leads at once. Two
  // heartbeat intervals, i.e. eight datagrams in a row lost: at 10 % independent loss that
  // happens once in 10^8 datagrams (the tests run 15 % without a flap).
  std::chrono::milliseconds peer_timeout{200};
  // The Bully elector's own patience, a fallback behind the peer timeout: heartbeats missed
  // before a follower holds the leader dead.
  int missed_heartbeats = 3;
  // Bully: an election no higher node answers within this is won; after an answer, how long
  // to wait for the higher node's coordinator message.
  std::chrono::milliseconds answer_timeout{100};
  std::chrono::milliseconds coordinator_timeout{300};
  // How often the driver ticks the core: timeouts fire at the first tick after they expire.
  std::chrono::milliseconds tick_interval{10};

  // The highest term known, kept across restarts (term_file.hpp); empty: not kept.
  std::filesystem::path term_file;
  // The island secret; every datagram is signed with it. Empty: unsigned (loopback only).
  std::string secret;
  membership::ReplayOptions replay;

  // With a store lease (address_lease.hpp): how often the active member renews it.
  std::chrono::milliseconds lease_renew_interval{500};

  std::chrono::milliseconds beat_interval() const {
    return heartbeat_interval / (beats_per_interval > 0 ? beats_per_interval : 1);
  }
};

}  // namespace isla::balancer::pair
