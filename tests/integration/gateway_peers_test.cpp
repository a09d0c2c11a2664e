// Gateways of an island as real processes: they find each other, see a death, a leave and a
// return, elect one bridge, forward what a saturated gateway cannot take, and federate with
// another island (issue 11). The same scenarios across network namespaces, under load, are in
// tests/chaos/island_chaos_test.cpp.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <future>
#include <thread>

#include "core/child_process.hpp"
#include "gateway/peer_forwarder.hpp"
#include "support/island.hpp"
#include "support/metrics_text.hpp"
#include "support/raw_http.hpp"
#include "support/store_cluster.hpp"

namespace isla::testing {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;

// What `observer` says of `peer` in its /api/status: its state and incarnation.
struct Seen {
  std::string state;
  std::uint64_t incarnation = 0;
};

std::optional<Seen> seen(const StoreCluster& cluster, int observer, int peer) {
  const auto status = cluster.status(observer);
  if (status.is_null()) return std::nullopt;
  for (const auto& entry : status.at("peers").as_array()) {
    if (entry.at("address").as_string() == cluster.address(peer).str()) {
      return Seen{std::string(entry.at("state").as_string()),
                  entry.at("incarnation").to_number<std::uint64_t>()};
    }
  }
  return std::nullopt;
}

bool everyone_sees(const StoreCluster& cluster, int peer, const std::string& state) {
  for (int node = 0; node < cluster.size(); ++node) {
    if (node == peer || !cluster.running(node)) continue;
    const auto view = seen(cluster, node, peer);
    if (!view || view->state != state) return false;
  }
  return true;
}

// The bridge every running node names, once they agree.
std::optional<std::string> agreed_bridge(const StoreCluster& cluster) {
  std::optional<std::string> agreed;
  for (int node = 0; node < cluster.size(); ++node) {
    if (!cluster.running(node)) continue;
    const auto status = cluster.status(node);
    if (status.is_null()) return std::nullopt;
    const auto& leader = status.at("bridge").at("leader");
    if (!leader.is_string()) return std::nullopt;
    const std::string name(leader.as_string());
    if (agreed && *agreed != name) return std::nullopt;
    agreed = name;
  }
  return agreed;
}

int node_of(const StoreCluster& cluster, const std::string& address) {
  for (int node = 0; node < cluster.size(); ++node) {
    if (cluster.address(node).str() == address) return node;
  }
  return -1;
}

TEST(GatewayPeers, AnIslandSeesADeathALeaveAndAReturnAndKeepsOneBridge) {
  StoreCluster cluster(3);
  cluster.use_secret();
  cluster.start_all();
  ASSERT_TRUE(eventually(
      [&] {
        for (int node = 0; node < 3; ++node) {
          if (!everyone_sees(cluster, node, "alive")) return false;
        }
        return true;
      },
      15s))
      << "the gateways did not all see each other alive";
  std::optional<std::string> bridge;
  ASSERT_TRUE(eventually([&] { return (bridge = agreed_bridge(cluster)).has_value(); }, 10s));
  // The island's log merges every gateway's, in an order consistent with their clocks.
  auto island_log = cluster.request(0, "GET", "/api/events/log?scope=island");
  ASSERT_TRUE(island_log.ok());
  ASSERT_EQ(island_log.response->status, 200) << island_log.response->body;
  const auto merged = json::parse(island_log.response->body);
  std::set<std::string> nodes;
  std::uint64_t lamport = 0;
  for (const auto& event : merged.at("events").as_array()) {
    nodes.insert(std::string(event.at("node").as_string()));
    const auto time = event.at("lamport").to_number<std::uint64_t>();
    EXPECT_LE(lamport, time) << "the merged log is not in causal order";
    lamport = time;
  }
  EXPECT_EQ(nodes.size(), 3u) << island_log.response->body;
  auto bad = cluster.request(0, "GET", "/api/events/log?scope=galaxy");
  ASSERT_TRUE(bad.ok());
  EXPECT_EQ(bad.response->status, 400);

  const int victim = node_of(cluster, *bridge);
  ASSERT_GE(victim, 0) << *bridge;
  const auto before = seen(cluster, (victim + 1) % 3, victim)->incarnation;

  const auto killed_at = std::chrono::steady_clock::now();
  cluster.kill(victim);
  ASSERT_TRUE(eventually([&] { return everyone_sees(cluster, victim, "dead"); }, 10s))
      << "a gateway killed with SIGKILL was not declared dead by every peer";
  const auto detected_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                               std::chrono::steady_clock::now() - killed_at)
                               .count();
  std::optional<std::string> next;
  ASSERT_TRUE(eventually(
      [&] {
        next = agreed_bridge(cluster);
        return next && *next != *bridge;
      },
      10s))
      << "no new bridge after the old one died";
  std::cout << "death seen by every peer after " << detected_ms << " ms (loopback, polled); "
            << "new bridge " << *next << "\n";

  cluster.start(victim);
  ASSERT_TRUE(eventually(
      [&] {
        if (!everyone_sees(cluster, victim, "alive")) return false;
        for (int node = 0; node < 3; ++node) {
          if (node != victim && seen(cluster, node, victim)->incarnation <= before) return false;
        }
        return true;
      },
      15s))
      << "the restarted gateway did not rejoin with a higher incarnation";

  const int leaver = (victim + 1) % 3;
  EXPECT_EQ(cluster.interrupt(leaver, 20s), 0) << cluster.log(leaver);
  EXPECT_TRUE(eventually([&] { return everyone_sees(cluster, leaver, "left"); }, 10s))
      << "a clean leave was not seen as left";
  ASSERT_TRUE(eventually([&] { return agreed_bridge(cluster).has_value(); }, 10s));
  EXPECT_NE(*agreed_bridge(cluster), cluster.address(leaver).str());
}

// A piece server of `island` on `address`, announcing itself to `gateways`.
core::ChildProcess start_pieces(const core::Endpoint& address, const std::string& gateways,
                                const std::string& figures, const std::filesystem::path& dir,
                                const std::filesystem::path& secret,
                                std::vector<std::string> extra = {}) {
  std::vector<std::string> argv = {
      ISLA_BINARY,     "pieces",       "--listen",   address.str(),
      "--gateway",     gateways,       "--catalog",  catalog_dir().string(),
      "--figures",     figures,        "--data-dir", (dir / ("pieces-" + address.host)).string(),
      "--secret-file", secret.string()};
  argv.insert(argv.end(), extra.begin(), extra.end());
  return core::ChildProcess::spawn(argv, (dir / ("pieces-" + address.host + ".log")).string());
}

core::Endpoint beside(const core::Endpoint& node, int last_octet, std::uint16_t port) {
  auto host = node.host.substr(0, node.host.rfind('.') + 1) + std::to_string(last_octet);
  return {host, port};
}

bool routes_figure(const StoreCluster& cluster, int node, const std::string& figure) {
  auto result = cluster.request(node, "GET", "/api/figures/" + figure, {}, 3s);
  return result.ok() && result.response->status == 200;
}

std::vector<net::ClientResult> concurrent_gets(const core::Endpoint& gateway,
                                               const std::string& target, int count) {
  std::vector<std::future<net::ClientResult>> pending;
  for (int i = 0; i < count; ++i) {
    pending.push_back(std::async(std::launch::async, [&] {
      net::HttpRequest request;
      request.target = target;
      return net::fetch(gateway, request, 10s);
    }));
  }
  std::vector<net::ClientResult> results;
  for (auto& result : pending) results.push_back(result.get());
  return results;
}

TEST(GatewayPeers, ASaturatedGatewayForwardsToAPeerAndASaturatedIslandAnswers503) {
  StoreCluster cluster(1, 1);  // the learner finds the voter through --store-voters
  cluster.use_secret();
  cluster.set_node_flags(0, {"--max-inflight", "1"});
  cluster.set_node_flags(1, {"--max-inflight", "1"});
  cluster.start_all();
  const std::string gateways = cluster.address(0).str() + "," + cluster.address(1).str();
  auto pieces = start_pieces(beside(cluster.address(0), 11, 1233), gateways, "owl",
                             cluster.data_dir(0).parent_path(), cluster.secret_file(),
                             {"--response-delay-ms", "400"});
  ASSERT_TRUE(eventually([&] { return everyone_sees(cluster, 0, "alive"); }, 15s));
  ASSERT_TRUE(eventually([&] { return everyone_sees(cluster, 1, "alive"); }, 15s));
  ASSERT_TRUE(eventually(
      [&] { return routes_figure(cluster, 0, "owl") && routes_figure(cluster, 1, "owl"); }, 15s));

  // Loads travel with the failure detector's datagrams: wait until gateway 0 has heard that
  // gateway 1 finished what it was serving.
  auto wait_until_peer_is_free = [&] {
    return eventually(
        [&] {
          const auto status = cluster.status(0);
          if (status.is_null()) return false;
          for (const auto& peer : status.at("peers").as_array()) {
            if (peer.at("address").as_string() == cluster.address(1).str()) {
              return peer.at("load").at("in_flight") == 0 &&
                     peer.at("load").at("saturated") == false;
            }
          }
          return false;
        },
        10s);
  };
  ASSERT_TRUE(wait_until_peer_is_free());

  // Two at once: gateway 0 serves one and hands the other to gateway 1.
  auto pair = concurrent_gets(cluster.address(0), "/api/figures/owl", 2);
  int forwarded = 0;
  for (const auto& result : pair) {
    ASSERT_TRUE(result.ok()) << result.message;
    EXPECT_EQ(result.response->status, 200) << result.response->body;
    if (auto to = result.response->header(gateway::kForwardedToHeader)) {
      EXPECT_EQ(*to, cluster.address(1).str());
      ++forwarded;
    }
  }
  EXPECT_EQ(forwarded, 1);

  ASSERT_TRUE(wait_until_peer_is_free());
  // Six at once against two gateways that take one each: the rest is refused quickly with
  // 503 + Retry-After, never queued, never answered with another 5xx.
  auto burst = concurrent_gets(cluster.address(0), "/api/figures/owl", 6);
  int ok = 0;
  int refused = 0;
  for (const auto& result : burst) {
    ASSERT_TRUE(result.ok()) << result.message;
    if (result.response->status == 200) {
      ++ok;
    } else {
      EXPECT_EQ(result.response->status, 503) << result.response->body;
      EXPECT_TRUE(result.response->header("Retry-After").has_value());
      EXPECT_NE(result.response->body.find("saturated"), std::string::npos);
      ++refused;
    }
  }
  EXPECT_GE(ok, 2);
  EXPECT_GE(refused, 1);
  // Forwarded by gateway 0; refused by whichever gateway found the other saturated too.
  auto counted = [&](int node, const std::string& series) {
    auto metrics = cluster.request(node, "GET", "/metrics");
    EXPECT_TRUE(metrics.ok());
    return metrics.ok() ? metric(metrics.response->body, series).value_or(0) : 0.0;
  };
  EXPECT_GE(counted(0, "isla_requests_forwarded_total{reason=\"saturated\"}"), 1.0);
  EXPECT_GE(counted(0, "isla_requests_refused_saturated_total") +
                counted(1, "isla_requests_refused_saturated_total"),
            static_cast<double>(refused));
}

TEST(GatewayPeers, IslandsExchangeCataloguesServeEachOthersFiguresAndHearByes) {
  StoreCluster a(1);
  StoreCluster b(1);
  a.use_secret();
  std::filesystem::copy_file(a.secret_file(), b.secret_file());  // federated: one secret
  b.set_node_flags(
      0, {"--secret-file", b.secret_file().string(), "--island-peers", a.address(0).str()});
  a.set_island("a");
  b.set_island("b");
  a.set_node_flags(0, {"--island-peers", b.address(0).str()});
  a.start_all();
  b.start_all();
  auto pieces_a = start_pieces(beside(a.address(0), 11, 1233), a.address(0).str(), "owl",
                               a.data_dir(0).parent_path(), a.secret_file());
  auto pieces_b = start_pieces(beside(b.address(0), 11, 1233), b.address(0).str(), "giraffe",
                               b.data_dir(0).parent_path(), b.secret_file());
  ASSERT_TRUE(eventually(
      [&] { return routes_figure(a, 0, "owl") && routes_figure(b, 0, "giraffe"); }, 15s));

  // Island a lists giraffe as b's and serves it through b.
  ASSERT_TRUE(eventually(
      [&] {
        auto listed = a.request(0, "GET", "/api/figures");
        if (!listed.ok()) return false;
        const auto body = json::parse(listed.response->body);
        for (const auto& figure : body.at("figures").as_array()) {
          if (figure.at("name") == "giraffe" && figure.at("island") == "b") return true;
        }
        return false;
      },
      15s))
      << "island a never listed b's figure";
  auto remote = a.request(0, "GET", "/api/figures/giraffe");
  ASSERT_TRUE(remote.ok());
  ASSERT_EQ(remote.response->status, 200) << remote.response->body;
  EXPECT_EQ(json::parse(remote.response->body).at("island"), "b");
  EXPECT_EQ(remote.response->header(gateway::kForwardedToHeader).value_or(""), b.address(0).str());
  // And the other way round.
  ASSERT_TRUE(eventually([&] { return routes_figure(b, 0, "owl"); }, 15s));
  // A stranger (no island secret) can neither forge a catalogue nor take part in an election.
  for (const auto* target : {"/internal/islands/exchange", "/internal/islands/remote",
                             "/internal/islands/bye", "/internal/election"}) {
    auto forged = a.request(0, "POST", target,
                            R"({"island":"evil","bridge":"","gateways":[],"figures":["owl"]})");
    ASSERT_TRUE(forged.ok());
    EXPECT_EQ(forged.response->status, 401) << target << ": " << forged.response->body;
  }
  // A client's Isla-Hops cannot make a gateway forward, nor loop a request.
  net::HttpRequest hopped;
  hopped.target = "/api/figures/giraffe";
  hopped.headers.emplace_back("Isla-Hops", "99");
  auto hops = net::fetch(a.address(0), hopped, 3s);
  ASSERT_TRUE(hops.ok());
  EXPECT_EQ(hops.response->status, 200) << hops.response->body;

  // A figure neither island holds is still a plain 404.
  auto unknown = a.request(0, "GET", "/api/figures/lighthouse");
  ASSERT_TRUE(unknown.ok());
  EXPECT_EQ(unknown.response->status, 404);

  // b's gateway leaves: its bye reaches island a, which no longer sends requests there.
  EXPECT_EQ(b.interrupt(0, 20s), 0) << b.log(0);
  auto after = a.request(0, "GET", "/api/figures/giraffe");
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(after.response->status, 503) << after.response->body;
  EXPECT_TRUE(after.response->header("Retry-After").has_value());
  auto log = a.request(0, "GET", "/api/events/log");
  ASSERT_TRUE(log.ok());
  std::set<std::string> kinds;
  const auto events = json::parse(log.response->body);
  for (const auto& event : events.at("events").as_array()) {
    kinds.insert(std::string(event.at("kind").as_string()));
  }
  EXPECT_TRUE(kinds.count("island_updated")) << log.response->body;
  EXPECT_TRUE(kinds.count("island_bye")) << log.response->body;
}

TEST(GatewayPeers, APieceServerFindsTheGatewaysOfItsSubnetByBroadcast) {
  // Loopback's broadcast address; only the gateways of this test listen on it.
  StoreCluster cluster(1, 1, {"--discovery-broadcast", "127.255.255.255"});
  cluster.use_secret();
  cluster.start_all();
  const auto dir = cluster.data_dir(0).parent_path();
  std::vector<std::string> argv = {ISLA_BINARY,     "pieces",
                                   "--listen",      beside(cluster.address(0), 11, 1233).str(),
                                   "--discover",    "127.255.255.255:5235",
                                   "--catalog",     catalog_dir().string(),
                                   "--figures",     "owl",
                                   "--data-dir",    (dir / "pieces-discovering").string(),
                                   "--secret-file", cluster.secret_file().string()};
  auto pieces = core::ChildProcess::spawn(argv, (dir / "pieces-discovering.log").string());
  EXPECT_TRUE(eventually([&] { return routes_figure(cluster, 0, "owl"); }, 15s))
      << read_file(dir / "pieces-discovering.log");
  EXPECT_TRUE(eventually([&] { return routes_figure(cluster, 1, "owl"); }, 15s))
      << "the second gateway was not found: " << read_file(dir / "pieces-discovering.log");
}

}  // namespace
}  // namespace isla::testing
