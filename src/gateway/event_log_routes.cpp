#include "gateway/event_log_routes.hpp"

#include <boost/json.hpp>
#include <memory>

#include "clocks/event_json.hpp"
#include "core/parse.hpp"

namespace isla::gateway {

namespace json = boost::json;

namespace {

// How long a peer gets to send its log for an island-wide one.
constexpr auto kPeerLogTimeout = std::chrono::milliseconds(500);

}  // namespace

class EventLogRoutes {
 public:
  explicit EventLogRoutes(EventLogSource source) : source_(std::move(source)) {}

  asio::awaitable<net::HttpResponse> events_log(const net::HttpRequest& request) const;

 private:
  asio::awaitable<json::object> island_events_log() const;

  EventLogSource source_;
};

// GCC 12 inlines this coroutine frame's allocation into its caller and then warns that Asio's
// sized operator delete does not match it; the frame is allocated and freed by Asio's own
// pair (a false positive of GCC 12 on coroutines), so the warning is off for this function
// only.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
// Every live gateway's log merged, each event kept with its own clocks, in causal order.
asio::awaitable<json::object> EventLogRoutes::island_events_log() const {
  const auto& source = source_;
  const auto peers = source.live_peers();
  clocks::EventLog merged(
      clocks::EventLogOptions{source.address, kEventLogCapacity * (peers.size() + 1)});
  for (auto& event : source.events.causal_order()) merged.ingest(std::move(event));
  json::array unreachable;
  for (const auto& peer : peers) {
    net::HttpRequest ask;
    ask.target = "/api/events/log";
    auto result = co_await source.client.request(
        peer, ask, std::chrono::steady_clock::now() + kPeerLogTimeout);
    boost::system::error_code error;
    const auto value = result.ok() && result.response->status == 200
                           ? json::parse(result.response->body, error)
                           : json::value();
    const auto* events =
        !error && value.is_object() ? value.as_object().if_contains("events") : nullptr;
    if (events == nullptr || !events->is_array()) {
      unreachable.emplace_back(peer.str());
      continue;
    }
    for (const auto& item : events->as_array()) {
      if (auto decoded = clocks::event_from_json(item); decoded.event) {
        merged.ingest(std::move(*decoded.event));
      }
    }
  }
  auto body = clocks::to_json(merged.causal_order());
  body["unreachable"] = std::move(unreachable);
  co_return body;
}
#pragma GCC diagnostic pop

// GET /api/events/log[?since=ID | ?scope=island].
asio::awaitable<net::HttpResponse> EventLogRoutes::events_log(
    const net::HttpRequest& request) const {
  const auto& source = source_;
  std::uint64_t since = 0;
  if (auto text = net::query_param(request.query(), "since")) {
    auto parsed = core::parse_integer<std::uint64_t>(*text);
    if (!parsed) co_return net::json_error(400, "since must be an event id (a whole number)");
    since = *parsed;
  }
  const auto scope = net::query_param(request.query(), "scope").value_or("node");
  if (scope != "node" && scope != "island") {
    co_return net::json_error(400, "scope must be node or island");
  }
  if (scope == "island" && since != 0) {
    co_return net::json_error(400, "since applies to one gateway's log (scope=node) only");
  }
  json::object body;
  if (scope == "node") {
    body = clocks::to_json(since == 0 ? source.events.causal_order() : source.events.since(since));
  } else {
    body = co_await island_events_log();
  }
  body["node"] = source.address;
  body["incarnation"] = source.incarnation;
  co_return net::json_response(200, json::serialize(body));
}

void add_event_log_routes(net::Router& router, EventLogSource source) {
  auto routes = std::make_shared<const EventLogRoutes>(std::move(source));
  router.get(
      "/api/events/log", "events_log", net::Access::anyone,
      [routes](net::HttpRequest& request, std::string_view) -> asio::awaitable<net::HttpResponse> {
        co_return co_await routes->events_log(request);
      });
}

}  // namespace isla::gateway
