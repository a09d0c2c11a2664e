#include "gateway/island_membership.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "clocks/event_json.hpp"
#include "election/codec.hpp"
#include "election/term.hpp"

namespace isla::gateway {

namespace json = boost::json;
using Clock = std::chrono::steady_clock;

namespace {

constexpr auto kElectionCallTimeout = std::chrono::milliseconds(300);

election::RingOptions ring_options(const IslandMembershipOptions& options) {
  election::RingOptions ring;
  ring.self = election::Candidate{options.self, 0};
  return ring;
}

// Ring messages that change who leads carry the sender's clocks, so that the event log
// orders an election across gateways; heartbeats and hop acks would only flood it.
bool carries_clock(election::MessageKind kind) {
  return kind == election::MessageKind::ring_election ||
         kind == election::MessageKind::ring_coordinator;
}

GatewayLoad gateway_load(const membership::Load& load) {
  GatewayLoad out;
  out.in_flight = load.in_flight;
  out.capacity = load.capacity;
  out.queue_delay_ms = load.queue_delay_ms;
  out.p99_ms = load.p99_ms;
  out.cpu_percent = load.cpu_percent;
  out.saturated = load.saturated;
  return out;
}

}  // namespace

IslandMembership::IslandMembership(IslandMembershipOptions options, asio::io_context& main,
                                   net::UdpEndpoint& udp, core::Random& random,
                                   PeerDirectory& peers, clocks::EventLog& events,
                                   net::HttpClient client, LoadSource load)
    : options_(std::move(options)),
      main_(main),
      udp_(udp),
      peers_(peers),
      events_(events),
      client_(std::move(client)),
      load_(std::move(load)),
      swim_(options_.self, options_.incarnation, options_.swim, random),
      ring_(ring_options(options_)),
      wake_(main),
      incarnation_(options_.incarnation) {
  for (const auto& seed : options_.seeds) {
    if (seed != options_.self) swim_.add_seed(seed);
  }
}

membership::Load IslandMembership::local_load() const {
  const auto load = load_();
  membership::Load out;
  out.in_flight = load.in_flight;
  out.capacity = load.capacity;
  out.queue_delay_ms = load.queue_delay_ms;
  out.p99_ms = load.p99_ms;
  out.cpu_percent = std::min(load.cpu_percent, membership::kMaxCpuPercent);
  out.saturated = load.saturated;
  return out;
}

void IslandMembership::start() {
  asio::post(main_, [this] {
    send(ring_.start(Clock::now()));
    events_.record_local("member_joined", json::object{{"node", options_.self},
                                                       {"incarnation", swim_.incarnation()}});
  });
  asio::co_spawn(main_, run(), asio::detached);
}

asio::awaitable<void> IslandMembership::run() {
  while (!left_) {
    const auto now = Clock::now();
    swim_.set_local_load(local_load());
    send(swim_.tick(now));
    send(ring_.tick(now));
    after_change(now);
    const auto next = std::min(swim_.next_wakeup(), now + options_.election_tick);
    wake_.expires_at(std::max(next, now + std::chrono::milliseconds(1)));
    co_await wake_.async_wait(net::use_nothrow);
  }
}

void IslandMembership::on_datagram(const membership::Datagram& datagram) {
  if (left_) return;
  const auto now = Clock::now();
  send(swim_.on_datagram(datagram, now));
  after_change(now);
}

void IslandMembership::send(std::vector<membership::Outgoing> outgoing) {
  for (auto& out : outgoing) {
    auto& datagram = out.datagram;
    datagram.role = "gateway";
    datagram.island = options_.island;
    datagram.ts = membership::wall_clock_ms();
    datagram.seq = ++seq_;
    const auto to = core::parse_endpoint(out.to);
    auto bytes = membership::encode(datagram, options_.secret);
    if (to && bytes) udp_.send(*to, std::move(*bytes));
  }
}

void IslandMembership::send(std::vector<election::Outgoing> outgoing) {
  for (auto& out : outgoing) {
    const auto to = core::parse_endpoint(out.to);
    if (!to) continue;
    json::object body{{"message", election::to_json(out.message)}};
    if (carries_clock(out.message.kind)) {
      const auto sent = events_.record_local(
          "election_message_sent",
          json::object{{"kind", election::to_string(out.message.kind)}, {"to", out.to}});
      body["clock"] = clocks::to_json(sent.stamp());
    }
    net::HttpRequest request;
    request.method = "POST";
    request.target = "/internal/election";
    request.body = json::serialize(body);
    request.headers.emplace_back("Content-Type", "application/json");
    asio::co_spawn(
        main_,
        [this, to = *to, request = std::move(request)]() -> asio::awaitable<void> {
          auto result = co_await client_.request(to, request, Clock::now() + kElectionCallTimeout);
          if (!result.ok()) {
            spdlog::debug("election message lost to={} error=\"{}\"", to.str(), result.message);
          }
        },
        asio::detached);
  }
}

void IslandMembership::on_election(const election::ElectionMessage& message,
                                   const clocks::Stamp* stamp) {
  if (left_) return;
  if (stamp != nullptr) {
    events_.record_received(
        "election_message_received",
        json::object{{"kind", election::to_string(message.kind)}, {"from", message.from.id}},
        stamp->lamport, stamp->vector);
  }
  const auto now = Clock::now();
  send(ring_.on_message(message, now));
  after_change(now);
}

void IslandMembership::add_routes(net::Router& router) {
  router.add(
      "POST", "/internal/election", false, "election", net::Access::node,
      [this](net::HttpRequest& request, std::string_view) -> asio::awaitable<net::HttpResponse> {
        boost::system::error_code error;
        auto value = json::parse(request.body, error);
        const auto* object = !error && value.is_object() ? &value.as_object() : nullptr;
        const auto* message = object ? object->if_contains("message") : nullptr;
        if (message == nullptr) co_return net::json_error(400, "body must be {\"message\":...}");
        auto decoded = election::from_json(*message);
        if (!decoded.message) {
          co_return net::json_error(400, "bad election message: " + decoded.rejection);
        }
        std::optional<clocks::Stamp> stamp;
        if (const auto* clock = object->if_contains("clock")) {
          auto parsed = clocks::stamp_from_json(*clock);
          if (!parsed.stamp) co_return net::json_error(400, "bad clock: " + parsed.rejection);
          stamp = std::move(parsed.stamp);
        }
        asio::post(main_, [this, message = std::move(*decoded.message), stamp = std::move(stamp)] {
          on_election(message, stamp ? &*stamp : nullptr);
        });
        co_return net::json_response(202, "{}");
      });
}

void IslandMembership::after_change(core::SteadyTime now) {
  record_member_events();
  publish_peers(now);
  std::vector<std::string> alive{options_.self};
  for (const auto& member : swim_.members()) {
    if (member.state == membership::MemberState::alive && !member.draining) {
      alive.push_back(member.address);
    }
  }
  std::sort(alive.begin(), alive.end());
  if (alive != last_alive_) {
    last_alive_ = alive;
    std::vector<election::Candidate> candidates;
    for (const auto& address : alive) candidates.push_back({address, 0});
    send(ring_.set_members(std::move(candidates), now));
  }
  record_election_events();
  incarnation_.store(swim_.incarnation(), std::memory_order_relaxed);
  std::lock_guard lock(published_mutex_);
  bridge_ = BridgeView{ring_.leader(), ring_.term()};
}

void IslandMembership::publish_peers(core::SteadyTime now) {
  PeerSnapshot snapshot;
  for (const auto& member : swim_.members()) {
    PeerView peer;
    peer.address = member.address;
    if (auto endpoint = core::parse_endpoint(member.address)) peer.endpoint = *endpoint;
    peer.state = membership::to_string(member.state);
    peer.incarnation = member.incarnation;
    peer.load = gateway_load(member.load);
    peer.draining = member.draining;
    peer.last_contact_ms = member.last_contact == core::SteadyTime{}
                               ? -1
                               : core::millis_between(member.last_contact, now);
    snapshot.peers.push_back(std::move(peer));
  }
  peers_.publish(std::move(snapshot));
}

void IslandMembership::record_member_events() {
  for (const auto& event : swim_.take_events()) {
    json::object detail{{"node", event.address},
                        {"state", membership::to_string(event.to)},
                        {"incarnation", event.incarnation}};
    if (event.from) detail["previous"] = membership::to_string(*event.from);
    spdlog::info("member {} node={} incarnation={}", event.reason, event.address,
                 event.incarnation);
    events_.record_local(std::string("member_") + event.reason, std::move(detail));
  }
}

void IslandMembership::record_election_events() {
  for (const auto& event : ring_.take_events()) {
    json::object detail{{"term", election::round_of(event.term)}};
    if (event.leader) detail["leader"] = *event.leader;
    if (!event.detail.empty()) detail["detail"] = event.detail;
    if (event.kind == election::EventKind::leader_changed) {
      spdlog::info("island bridge is {} (round {})", event.leader.value_or("?"),
                   election::round_of(event.term));
    }
    events_.record_local(std::string("bridge_") + election::to_string(event.kind),
                         std::move(detail));
  }
}

void IslandMembership::announce_draining() {
  asio::post(main_, [this] {
    swim_.set_draining(true);
    events_.record_local("member_draining", json::object{{"node", options_.self}});
    // Ping everyone now rather than at the next probe: the flag rides on every datagram.
    send(swim_.tick(Clock::now()));
  });
}

void IslandMembership::leave() {
  if (left_) return;
  send(swim_.leave(Clock::now()));
  events_.record_local("member_left", json::object{{"node", options_.self}});
  left_ = true;
  wake_.cancel();
}

BridgeView IslandMembership::bridge() const {
  std::lock_guard lock(published_mutex_);
  return bridge_;
}

bool IslandMembership::is_bridge() const {
  return bridge().leader == options_.self;
}

json::object IslandMembership::bridge_json() const {
  const auto view = bridge();
  return {{"leader", view.leader ? json::value(*view.leader) : json::value(nullptr)},
          {"round", election::round_of(view.term)},
          {"this_gateway", view.leader == options_.self}};
}

}  // namespace isla::gateway
