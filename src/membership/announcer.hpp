#pragma once
// The joining side of membership: says hello to the seed gateways until one answers, then
// heartbeats with the node's load; announces draining and says bye when leaving.
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "core/backoff.hpp"
#include "core/clock.hpp"
#include "core/endpoint.hpp"
#include "membership/datagram.hpp"
#include "membership/replay_window.hpp"
#include "net/asio.hpp"
#include "net/udp_endpoint.hpp"

namespace isla::membership {

struct AnnouncerOptions {
  std::vector<core::Endpoint> seeds;                  // gateways to announce to
  std::chrono::milliseconds heartbeat_interval{200};  // while at least one seed answers
  // A seed silent for this long counts as gone; with none left we go back to hello.
  std::chrono::milliseconds seed_timeout{1000};
  core::BackoffOptions hello_backoff{std::chrono::milliseconds(100),
                                     std::chrono::milliseconds(5000), 2.0, 0.5};
  // How long announce_draining() waits for the answering seeds to acknowledge.
  std::chrono::milliseconds drain_ack_timeout{1000};
  std::string secret;  // HMAC key; empty = unsigned datagrams
  // Where the interface supports it: hellos also go to this broadcast address (the subnet's,
  // with the gateways' port), and a gateway that welcomes one becomes a seed.
  std::optional<core::Endpoint> broadcast;
  std::size_t max_discovered = 16;  // gateways found by broadcast that are kept
};

class Announcer {
 public:
  // Describes this node as it is now (role, figures, load, ...); type, seq, ts and island are
  // filled in.
  using Describe = std::function<Datagram()>;
  // Told the island name when a gateway's welcome first names it, or names another.
  using IslandChanged = std::function<void(const std::string& island)>;

  Announcer(asio::io_context& context, net::UdpEndpoint& udp, core::Clock& clock,
            core::Random& random, AnnouncerOptions options, Describe describe,
            IslandChanged island_changed = {});

  void start();
  // Feeds a datagram received on the node's UDP port (decoded, its MAC checked); call on the
  // announcer's context. True when it was taken: from one of our gateways, and (with a
  // secret) not a replay.
  bool on_datagram(const Datagram& datagram, const core::Endpoint& from);
  // Marks the node draining at once and waits (bounded) until every answering seed has
  // acknowledged it, so that no gateway picks this node for new work afterwards.
  asio::awaitable<bool> announce_draining();
  // Sends bye to every seed and stops announcing.
  void say_goodbye();

  std::size_t answering_seeds() const;

 private:
  struct Seed {
    core::Endpoint address;
    core::SteadyTime last_answer{};
    std::uint64_t acked_seq = 0;
    bool answered = false;
  };

  asio::awaitable<void> run();
  bool answering(const Seed& seed) const;
  std::uint64_t send_to_all(DatagramType type);
  // The seed `from` is, adding it when it welcomed a broadcast hello; null: not ours.
  Seed* seed_for(const Datagram& datagram, const core::Endpoint& from);

  asio::io_context& context_;
  net::UdpEndpoint& udp_;
  core::Clock& clock_;
  AnnouncerOptions options_;
  Describe describe_;
  core::Backoff backoff_;
  std::vector<Seed> seeds_;
  std::size_t discovered_ = 0;
  std::uint64_t seq_ = 0;
  bool draining_ = false;
  bool stopped_ = false;
  asio::steady_timer wake_;
  IslandChanged island_changed_;
  std::string island_;
  // With a secret: a replayed welcome must not keep a dead gateway looking alive, nor a
  // replayed bye send us back to hello.
  ReplayWindow replay_;
};

}  // namespace isla::membership
