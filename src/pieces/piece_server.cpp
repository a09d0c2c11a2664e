#include "pieces/piece_server.hpp"

#include <spdlog/spdlog.h>

#include <boost/json.hpp>
#include <map>
#include <set>

#include "core/random.hpp"
#include "node/node_host.hpp"
#include "pieces/api.hpp"
#include "pieces/catalog.hpp"
#include "pieces/stock_store.hpp"

namespace isla::pieces {

namespace json = boost::json;

namespace {

std::vector<Figure> select_figures(std::vector<Figure> catalog,
                                   const std::vector<std::string>& wanted) {
  if (wanted.empty()) return catalog;
  std::set<std::string> names(wanted.begin(), wanted.end());
  std::vector<Figure> out;
  for (auto& figure : catalog) {
    if (names.erase(figure.name) > 0) out.push_back(std::move(figure));
  }
  if (!names.empty()) {
    throw std::runtime_error("--figures names '" + *names.begin() +
                             "', which is not in the catalogue");
  }
  return out;
}

// Answers for the figures are serialised once per island name, not once per request.
struct AnswerCache {
  std::string island;
  std::map<std::string, std::string, std::less<>> bodies;
};

class PieceServer {
 public:
  explicit PieceServer(const PieceServerOptions& options)
      : options_(options),
        random_(core::seed_from_device()),
        incarnation_(static_cast<std::uint64_t>(core::wall_clock_ms())),
        host_(node::NodeOptions{options.listen, "pieces", "local", options.threads, options.http,
                                options.secret, options.audit_log}) {
    load_figures();
    if (!membership::encode(describe(), options.secret)) {
      throw std::runtime_error(std::to_string(figures_.size()) +
                               " figure names do not fit in one membership datagram (1200 "
                               "bytes); spread them over more piece servers with --figures");
    }
    auto announce = options.announce;
    announce.seeds = options.gateways;
    announce.secret = options.secret;
    if (announce.broadcast) host_.udp().allow_broadcast();
    announcer_ = std::make_unique<membership::Announcer>(
        host_.pool().main(), host_.udp(), core::SteadyClock::instance(), random_, announce,
        [this] { return describe(); },
        [this](const std::string& island) {
          // Off the request path: the answers are re-serialised once per island change.
          host_.set_island(island);
          cache_.store(build_cache(island));
        });
    add_routes();
  }

  int run() {
    host_.udp().start([this](std::string_view bytes, const core::Endpoint& from) {
      auto decoded = membership::decode(bytes, options_.secret);
      if (!decoded.datagram) return;
      announcer_->on_datagram(*decoded.datagram, from);
    });
    announcer_->start();
    return host_.run([this]() -> asio::awaitable<void> { co_await leave(); });
  }

 private:
  void load_figures() {
    auto figures = select_figures(load_catalog(options_.catalog), options_.figures);
    auto store = open_sqlite_stock(options_.data_dir);
    const auto changed = store->sync(figures);
    for (const auto& figure : figures) {
      auto stored = store->figure(figure.name);
      if (!stored) throw std::runtime_error("stock database lost figure " + figure.name);
      figures_.emplace(figure.name, std::move(*stored));
    }
    spdlog::info("stock ready figures={} updated_from_catalog={} data_dir={}", figures_.size(),
                 changed, options_.data_dir.string());
    cache_.store(build_cache("local"));
  }

  std::shared_ptr<const AnswerCache> build_cache(const std::string& island) const {
    auto cache = std::make_shared<AnswerCache>();
    cache->island = island;
    for (const auto& [name, figure] : figures_) {
      FigureDetail detail{figure.name, figure.title, figure.pieces, host_.address(), island};
      cache->bodies.emplace(name, json::serialize(json::value_from(detail)));
    }
    return cache;
  }

  std::shared_ptr<const AnswerCache> answers() const { return cache_.load(); }

  void add_routes() {
    auto& router = host_.router();
    // Open to anyone, as the gateway's figures are; a gateway's call is signed, and a
    // signature that does not verify is refused (Guard::admit).
    router.get_prefix(
        "/api/figures/", "figure", net::Access::anyone,
        [this](net::HttpRequest&, std::string_view tail) -> asio::awaitable<net::HttpResponse> {
          if (options_.response_delay.count() > 0) co_await net::sleep_for(options_.response_delay);
          auto name = figure_name_from_path(tail);
          if (!name) {
            co_return net::json_error(
                400, "invalid figure name: use 1-64 characters of a-z, 0-9 and '-'");
          }
          auto cache = answers();
          auto found = cache->bodies.find(*name);
          if (found == cache->bodies.end()) {
            co_return net::json_error(404,
                                      "this piece server does not hold figure '" + *name + "'");
          }
          co_return net::json_response(200, found->second);
        });
    router.get("/api/figures", "figures", net::Access::anyone,
               [this](net::HttpRequest&, std::string_view) -> asio::awaitable<net::HttpResponse> {
                 co_return net::json_response(200, json::serialize(figure_list()));
               });
    router.get("/api/status", "status", net::Access::anyone,
               [this](net::HttpRequest&, std::string_view) -> asio::awaitable<net::HttpResponse> {
                 auto body = observability::node_status(host_.identity(), host_.totals());
                 body["incarnation"] = incarnation_;
                 body["gateways_answering"] = announcer_->answering_seeds();
                 json::array gateways;
                 for (const auto& gateway : options_.gateways) gateways.emplace_back(gateway.str());
                 body["gateways"] = std::move(gateways);
                 body["figures"] = figure_list()["figures"];
                 co_return net::json_response(200, json::serialize(body));
               });
  }

  json::object figure_list() {
    const auto island = answers()->island;
    json::array list;
    for (const auto& [name, figure] : figures_) {
      list.push_back({{"name", name},
                      {"title", figure.title},
                      {"servers", json::array{json::value(host_.address())}},
                      {"island", island}});
    }
    return {{"figures", std::move(list)}};
  }

  membership::Datagram describe() const {
    membership::Datagram datagram;
    datagram.node = host_.address();
    datagram.role = "pieces";
    datagram.island = host_.identity().island;
    datagram.incarnation = incarnation_;
    for (const auto& [name, figure] : figures_) datagram.figures.push_back(name);
    const auto totals = host_.totals();
    datagram.load = {static_cast<std::uint32_t>(totals.in_flight), totals.total};
    return datagram;
  }

  // ARCHITECTURE.md §4: announce draining so gateways route elsewhere, finish what is in
  // flight, then say bye.
  asio::awaitable<void> leave() {
    const bool acknowledged = co_await announcer_->announce_draining();
    spdlog::info("draining acknowledged_by_all_gateways={} in_flight={}", acknowledged,
                 host_.server().in_flight());
    co_await host_.drain();
    announcer_->say_goodbye();
    spdlog::info("bye sent gateways={}", options_.gateways.size());
    co_await net::sleep_for(std::chrono::milliseconds(20));
    host_.udp().close();
  }

  PieceServerOptions options_;
  core::SeededRandom random_;
  std::uint64_t incarnation_;
  node::NodeHost host_;
  std::map<std::string, Figure> figures_;
  std::atomic<std::shared_ptr<const AnswerCache>> cache_;
  std::unique_ptr<membership::Announcer> announcer_;
};

}  // namespace

int run_piece_server(const PieceServerOptions& options) {
  PieceServer server(options);
  return server.run();
}

}  // namespace isla::pieces
