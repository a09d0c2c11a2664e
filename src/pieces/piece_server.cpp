#include "pieces/piece_server.hpp"

#include <spdlog/spdlog.h>

#include <fmt/ranges.h>

#include <boost/json.hpp>
#include <map>
#include <set>

#include "core/random.hpp"
#include "core/shared_snapshot.hpp"
#include "node/node_host.hpp"
#include "partition/assignments.hpp"
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

// What the server answers for, published as one immutable snapshot: request threads read it
// without a lock; the main context replaces it. Answers are serialised once per change (of
// figures or island name), not once per request.
struct Served {
  std::string island;
  std::map<std::string, Figure> held;  // announced to the gateways
  // Answers: for the held figures, and (partitioned) for those dropped less than
  // drop_grace ago.
  std::map<std::string, std::string, std::less<>> bodies;
};

// Partitioned: a figure dropped from `held`, answered until `until`.
struct Leaving {
  Figure figure;
  core::SteadyTime until;
};

class PieceServer {
 public:
  explicit PieceServer(const PieceServerOptions& options)
      : options_(options),
        random_(core::seed_from_device()),
        incarnation_(static_cast<std::uint64_t>(core::wall_clock_ms())),
        host_(node::NodeOptions{options.listen, "pieces", "local", options.threads, options.http,
                                options.secret, options.audit_log}),
        assignments_(options.announce.seed_timeout) {
    if (options.partitioned && !options.figures.empty()) {
      throw std::runtime_error(
          "--figures and --partitioned exclude each other: a partitioned piece server holds "
          "what the gateways assign");
    }
    load_figures();
    if (!membership::encode(describe(), options.secret)) {
      throw std::runtime_error(std::to_string(served()->held.size()) +
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
          const auto current = served();
          publish(island, current->held);
        });
    add_routes();
  }

  int run() {
    host_.udp().start([this](std::string_view bytes, const core::Endpoint& from) {
      auto decoded = membership::decode(bytes, options_.secret);
      if (!decoded.datagram) return;
      const auto& datagram = *decoded.datagram;
      if (!announcer_->on_datagram(datagram, from)) return;
      if (options_.partitioned && datagram.type == membership::DatagramType::welcome &&
          datagram.assigned) {
        const auto now = core::SteadyClock::instance().now();
        if (assignments_.update(datagram.node, datagram.incarnation, datagram.seq,
                                *datagram.assigned, now)) {
          rebalance(now);
        }
      }
    });
    announcer_->start();
    if (options_.partitioned) asio::co_spawn(host_.pool().main(), rebalance_loop(), asio::detached);
    return host_.run([this]() -> asio::awaitable<void> { co_await leave(); });
  }

 private:
  void load_figures() {
    auto catalog = load_catalog(options_.catalog);
    stock_ = open_sqlite_stock(options_.data_dir);
    std::map<std::string, Figure> held;
    if (options_.partitioned) {
      // Nothing is held until a gateway assigns it; the catalogue is where figures come from.
      for (auto& figure : catalog) catalogue_.emplace(figure.name, std::move(figure));
      spdlog::info("partitioned: holding what the gateways assign catalogue={} data_dir={}",
                   catalogue_.size(), options_.data_dir.string());
    } else {
      auto figures = select_figures(std::move(catalog), options_.figures);
      const auto changed = stock_->sync(figures);
      for (const auto& figure : figures) held.emplace(figure.name, stored(figure.name));
      spdlog::info("stock ready figures={} updated_from_catalog={} data_dir={}", held.size(),
                   changed, options_.data_dir.string());
    }
    publish("local", std::move(held));
  }

  Figure stored(const std::string& name) const {
    auto figure = stock_->figure(name);
    if (!figure) throw std::runtime_error("stock database lost figure " + name);
    return std::move(*figure);
  }

  // Publishes what is held now, with answers for it and for the figures still leaving.
  void publish(const std::string& island, std::map<std::string, Figure> held) {
    auto next = std::make_shared<Served>();
    next->island = island;
    next->held = std::move(held);
    const auto add_answer = [&](const Figure& figure) {
      FigureDetail detail{figure.name, figure.title, figure.pieces, host_.address(), island};
      next->bodies.emplace(figure.name, json::serialize(json::value_from(detail)));
    };
    for (const auto& [name, figure] : next->held) add_answer(figure);
    for (const auto& [name, leaving] : leaving_) {
      if (!next->held.contains(name)) add_answer(leaving.figure);
    }
    served_.store(std::move(next));
  }

  // Partitioned: makes what is held match what the gateways want. New figures are acquired
  // from the catalogue into the stock database before they are announced; figures no longer
  // wanted stop being announced at once (no gateway routes to them after its next
  // heartbeat) but are answered for drop_grace more. Runs on the main context only.
  void rebalance(core::SteadyTime now) {
    if (leaving_island_) return;  // draining: the gateways already moved our share
    const auto current = served();
    auto held = current->held;
    std::vector<std::string> acquired;
    std::vector<std::string> dropped;
    if (const auto wanted = assignments_.wanted(now)) {
      for (auto it = held.begin(); it != held.end();) {
        if (wanted->contains(it->first)) {
          ++it;
          continue;
        }
        dropped.push_back(it->first);
        leaving_.insert_or_assign(it->first,
                                  Leaving{std::move(it->second), now + options_.drop_grace});
        it = held.erase(it);
      }
      acquired = acquire(*wanted, held);
    }
    const auto expired =
        std::erase_if(leaving_, [&](const auto& entry) { return now >= entry.second.until; });
    if (acquired.empty() && dropped.empty() && expired == 0) return;
    if (!acquired.empty() || !dropped.empty()) {
      spdlog::info("figures moved held={} acquired=[{}] dropped=[{}]", held.size(),
                   fmt::join(acquired, ","), fmt::join(dropped, ","));
    }
    publish(current->island, std::move(held));
  }

  // Copies the wanted figures not held yet from the catalogue into the stock database and
  // `held`; returns their names.
  std::vector<std::string> acquire(const std::set<std::string>& wanted,
                                   std::map<std::string, Figure>& held) {
    std::vector<Figure> missing;
    for (const auto& name : wanted) {
      if (held.contains(name)) continue;
      auto found = catalogue_.find(name);
      if (found != catalogue_.end()) {
        missing.push_back(found->second);
      } else if (not_in_catalogue_.insert(name).second) {
        spdlog::warn("assigned figure is not in the catalogue figure={} catalog={}", name,
                     options_.catalog.string());
      }
    }
    std::vector<std::string> acquired;
    if (missing.empty()) return acquired;
    try {
      stock_->sync(missing);
      for (const auto& figure : missing) {
        held.insert_or_assign(figure.name, stored(figure.name));
        leaving_.erase(figure.name);
        acquired.push_back(figure.name);
      }
    } catch (const std::exception& error) {
      // Not announced, so not routed to; the next rebalance tries again.
      spdlog::error("cannot acquire figures error=\"{}\"", error.what());
    }
    return acquired;
  }

  asio::awaitable<void> rebalance_loop() {
    while (!leaving_island_) {
      co_await net::sleep_for(options_.announce.heartbeat_interval);
      rebalance(core::SteadyClock::instance().now());
    }
  }

  std::shared_ptr<const Served> served() const { return served_.load(); }

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
          auto current = served();
          auto found = current->bodies.find(*name);
          if (found == current->bodies.end()) {
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
    const auto current = served();
    const auto& island = current->island;
    json::array list;
    for (const auto& [name, figure] : current->held) {
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
    for (const auto& [name, figure] : served()->held) datagram.figures.push_back(name);
    const auto totals = host_.totals();
    datagram.load = {static_cast<std::uint32_t>(totals.in_flight), totals.total};
    return datagram;
  }

  // ARCHITECTURE.md §4: announce draining so gateways route elsewhere, finish what is in
  // flight, then say bye.
  asio::awaitable<void> leave() {
    leaving_island_ = true;
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
  std::unique_ptr<StockStore> stock_;  // used on the main context once serving
  core::SharedSnapshot<const Served> served_;
  std::unique_ptr<membership::Announcer> announcer_;
  // Partitioned only, all on the main context.
  partition::Assignments assignments_;
  std::map<std::string, Figure> catalogue_;  // where assigned figures are acquired from
  std::map<std::string, Leaving> leaving_;
  std::set<std::string> not_in_catalogue_;  // warned about once
  bool leaving_island_ = false;
};

}  // namespace

int run_piece_server(const PieceServerOptions& options) {
  PieceServer server(options);
  return server.run();
}

}  // namespace isla::pieces
