#pragma once
// The gateway's driver of its island's membership (SWIM over the UDP port), of the ring
// election of the island's bridge (over signed HTTP), and of the causal event log both feed.
// The protocol cores are pure (membership::Swim, election::RingElector); this class gives
// them time, sockets and a strand: every call into them runs on the main context. What
// request paths need (the peers, the bridge) is published as snapshots any thread may read.
#include <atomic>
#include <chrono>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "clocks/event_log.hpp"
#include "core/random.hpp"
#include "election/ring.hpp"
#include "gateway/peers.hpp"
#include "membership/swim.hpp"
#include "net/asio.hpp"
#include "net/http_client.hpp"
#include "net/router.hpp"
#include "net/udp_endpoint.hpp"

namespace isla::gateway {

struct IslandMembershipOptions {
  std::string island;
  std::string self;  // HOST:PORT
  std::uint64_t incarnation = 0;
  std::string secret;  // signs the datagrams; empty: unsigned
  std::vector<std::string> seeds;
  membership::SwimOptions swim;
  std::chrono::milliseconds election_tick{25};
};

struct BridgeView {
  std::optional<std::string> leader;
  std::uint64_t term = 0;
};

class IslandMembership {
 public:
  using LoadSource = std::function<GatewayLoad()>;

  IslandMembership(IslandMembershipOptions options, asio::io_context& main, net::UdpEndpoint& udp,
                   core::Random& random, PeerDirectory& peers, clocks::EventLog& events,
                   net::HttpClient client, LoadSource load);

  // POST /internal/election (a ring message from another gateway of the island).
  void add_routes(net::Router& router);
  // Starts the timers on the main context.
  void start();
  // A gateway's datagram, its MAC and replay checked; call on the main context.
  void on_datagram(const membership::Datagram& datagram);
  // Tells the island at once that this gateway takes no new requests. Any thread.
  void announce_draining();
  // A bye to every live member, then silence. Call on the main context.
  void leave();

  BridgeView bridge() const;
  // Ours as the island sees it: the start time, plus one per suspicion we refuted.
  std::uint64_t incarnation() const { return incarnation_.load(std::memory_order_relaxed); }
  bool is_bridge() const;
  boost::json::object bridge_json() const;

 private:
  asio::awaitable<void> run();
  void send(std::vector<membership::Outgoing> outgoing);
  void send(std::vector<election::Outgoing> outgoing);
  void after_change(core::SteadyTime now);
  void publish_peers(core::SteadyTime now);
  void record_member_events();
  void record_election_events();
  void on_election(const election::ElectionMessage& message, const clocks::Stamp* stamp);
  membership::Load local_load() const;

  IslandMembershipOptions options_;
  asio::io_context& main_;
  net::UdpEndpoint& udp_;
  PeerDirectory& peers_;
  clocks::EventLog& events_;
  net::HttpClient client_;
  LoadSource load_;
  membership::Swim swim_;
  election::RingElector ring_;
  std::uint64_t seq_ = 0;
  bool left_ = false;
  std::vector<std::string> last_alive_;  // the members the elector was last told of
  asio::steady_timer wake_;
  mutable std::mutex published_mutex_;
  BridgeView bridge_;
  std::atomic<std::uint64_t> incarnation_;
};

}  // namespace isla::gateway
