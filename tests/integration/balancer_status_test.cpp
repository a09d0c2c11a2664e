// GET /api/balancers on a gateway in front of which two real `isla balancer` processes run
// as a pair: one active, one standby, the same term, the gateway healthy in both; after the
// active one is killed, the other is active with a higher term and the dead one is listed as
// unreachable. Addresses that are no balancer (nothing listening, a gateway) never break the
// route. And `isla up --balancers 2` starts the pair, prints the service address and stops it.
#include <gtest/gtest.h>
#include <signal.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/json.hpp>

#include "support/loopback_server.hpp"

#include "support/balancer_pair_processes.hpp"
#include "support/island.hpp"
#include "support/raw_http.hpp"
#include "support/run_command.hpp"

namespace isla::testing {
namespace {

using namespace std::chrono_literals;
namespace json = boost::json;

constexpr auto kPatience = 20s;

json::object balancers(const Island& island) {
  auto result = island.get("/api/balancers", 3s);
  if (!result.ok() || result.response->status != 200) return {};
  boost::system::error_code error;
  auto value = json::parse(result.response->body, error);
  return !error && value.is_object() ? value.as_object() : json::object{};
}

const json::object* entry(const json::object& view, const std::string& admin) {
  const auto* list = view.if_contains("balancers");
  if (list == nullptr || !list->is_array()) return nullptr;
  for (const auto& item : list->as_array()) {
    if (item.is_object() && item.as_object().at("admin") == admin.c_str()) {
      return &item.as_object();
    }
  }
  return nullptr;
}

std::string role_of(const json::object& view, const std::string& admin) {
  const auto* found = entry(view, admin);
  const auto* role = found ? found->if_contains("role") : nullptr;
  return role && role->is_string() ? std::string(role->as_string()) : "";
}

std::uint64_t term_of(const json::object& view, const std::string& admin) {
  const auto* found = entry(view, admin);
  const auto* term = found ? found->if_contains("term") : nullptr;
  return term && term->is_number() ? term->to_number<std::uint64_t>() : 0;
}

bool all_backends_up(const json::object& view, const std::string& admin, std::size_t count) {
  const auto* found = entry(view, admin);
  const auto* list = found ? found->if_contains("backends") : nullptr;
  if (list == nullptr || !list->is_array() || list->as_array().size() != count) return false;
  for (const auto& backend : list->as_array()) {
    if (backend.as_object().at("health") != "up") return false;
  }
  return true;
}

TEST(BalancerStatus, ShowsThePairAndFollowsATakeoverWhileOtherAddressesAreHarmless) {
  Island island;
  BalancerPairProcesses pair(island);
  const std::string silent = island.gateway().host.substr(0, island.gateway().host.rfind('.')) +
                             ".103:8081";                     // nothing listens there
  const std::string not_a_balancer = island.gateway().str();  // the gateway's own /api/status
  island.start_gateway({"--balancer-admin", pair.admins() + "," + silent + "," + not_a_balancer});
  pair.start({island.gateway().str()});
  const auto first = pair.admin(0);
  const auto second = pair.admin(1);

  json::object view;
  ASSERT_TRUE(eventually(
      [&] {
        view = balancers(island);
        return role_of(view, first) == "active" && role_of(view, second) == "standby" &&
               term_of(view, first) > 0 && term_of(view, first) == term_of(view, second) &&
               all_backends_up(view, first, 1);
      },
      kPatience))
      << json::serialize(view) << "\n"
      << read_file(pair.log(0));
  EXPECT_EQ(view.at("active"), first.c_str());
  const auto term = term_of(view, first);
  EXPECT_EQ(view.at("term").to_number<std::uint64_t>(), term);
  ASSERT_NE(entry(view, silent), nullptr);
  EXPECT_EQ(entry(view, silent)->at("reachable"), false);
  ASSERT_NE(entry(view, not_a_balancer), nullptr);
  EXPECT_TRUE(entry(view, not_a_balancer)->contains("error")) << json::serialize(view);
  EXPECT_FALSE(entry(view, not_a_balancer)->contains("role"));

  pair.process(0).signal(SIGKILL);
  ASSERT_TRUE(eventually(
      [&] {
        view = balancers(island);
        const auto* dead = entry(view, first);
        return role_of(view, second) == "active" && term_of(view, second) > term &&
               dead != nullptr && dead->at("reachable") == false &&
               view.at("active") == second.c_str();
      },
      kPatience))
      << json::serialize(view) << "\n"
      << read_file(pair.log(1));
}

// A TCP listener that never accepts: connections complete in the kernel's backlog and no
// answer ever comes, as from a hung balancer.
class SilentListener {
 public:
  SilentListener() : fd_(::socket(AF_INET, SOCK_STREAM, 0)) {
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof(address);
    ::bind(fd_, reinterpret_cast<sockaddr*>(&address), length);
    ::listen(fd_, 16);
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &length);
    port_ = ntohs(address.sin_port);
  }
  ~SilentListener() { ::close(fd_); }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }

 private:
  int fd_;
  std::uint16_t port_ = 0;
};

// Hung balancers and one that answers nonsense: the route still answers, promptly (they are
// asked at once, 300 ms at most), with each listed as unreachable or in error.
TEST(BalancerStatus, HungAndLyingBalancersNeverBreakTheRoute) {
  // Seven hung ones and the liar: the most --balancer-admin takes (8).
  std::vector<std::unique_ptr<SilentListener>> hung_ones;
  std::string hung;
  for (int k = 0; k < 7; ++k) {
    hung_ones.push_back(std::make_unique<SilentListener>());
    hung += hung_ones.back()->address() + ",";
  }
  LoopbackServer liar(1, [](net::HttpRequest&) -> asio::awaitable<net::HttpResponse> {
    net::HttpResponse response;
    response.body = R"({"role":"balancer","pair":{"role":"active","term":"seven"},"backends":7)";
    co_return response;
  });
  Island island;
  island.start_gateway({"--balancer-admin", hung + liar.endpoint().str()});
  json::object view;
  ASSERT_TRUE(eventually(
      [&] {
        view = balancers(island);
        return view.contains("balancers");
      },
      kPatience));
  const auto started = std::chrono::steady_clock::now();
  view = balancers(island);
  const auto took = std::chrono::steady_clock::now() - started;
  ASSERT_TRUE(view.contains("balancers")) << "the route did not answer";
  // One after the other they would take 7 x 300 ms.
  EXPECT_LT(took, 1800ms) << "seven hung balancers should cost one timeout, not seven";
  for (const auto& silent : hung_ones) {
    const auto* found = entry(view, silent->address());
    ASSERT_NE(found, nullptr) << json::serialize(view);
    EXPECT_EQ(found->at("reachable"), false) << json::serialize(view);
  }
  const auto* lying = entry(view, liar.endpoint().str());
  ASSERT_NE(lying, nullptr);
  EXPECT_TRUE(lying->contains("error")) << json::serialize(view);
  EXPECT_TRUE(view.at("active").is_null()) << "a balancer that is not one named active";
}

TEST(BalancerStatus, WithoutBalancersTheListIsEmpty) {
  Island island;
  island.start_gateway();
  json::object view;
  ASSERT_TRUE(eventually(
      [&] {
        view = balancers(island);
        return view.contains("balancers");
      },
      kPatience));
  EXPECT_TRUE(view.at("balancers").as_array().empty());
  EXPECT_TRUE(view.at("active").is_null());
}

TEST(BalancerStatus, GatewayRefusesABadBalancerAdminFlag) {
  const auto result = run_isla({"gateway", "--balancer-admin", "not an address:x"});
  EXPECT_NE(result.exit_code, 0) << result.output;
  EXPECT_NE(result.output.find("--balancer-admin"), std::string::npos) << result.output;
  const auto up = run_isla({"up", "--balancers", "3"});
  EXPECT_NE(up.exit_code, 0) << up.output;
  EXPECT_NE(up.output.find("--balancers"), std::string::npos) << up.output;
}

// `isla up --balancers 2`: the service address answers, the pair is one active and one
// standby, the active one holds the address's store lease, Ctrl+C stops the balancers before
// the gateway.
TEST(BalancerStatus, IslaUpStartsThePairInFrontOfTheGateways) {
  Island island;  // for its unique subnet and directory only
  const auto subnet = island.gateway().host.substr(0, island.gateway().host.rfind('.'));
  const auto log = (island.dir() / "up.log").string();
  auto up = core::ChildProcess::spawn(
      {ISLA_BINARY, "up", "--balancers", "2", "--gateway", island.gateway().str(), "--gateways",
       "1", "--pieces", "1", "--pieces-subnet", subnet, "--workers", "0", "--catalog",
       catalog_dir().string(), "--data-dir", (island.dir() / "up").string()},
      log);
  ASSERT_TRUE(eventually([&] { return read_file(log).find("is up") != std::string::npos; }, 40s))
      << read_file(log);
  const std::string service = subnet + ".100:8080";
  EXPECT_NE(read_file(log).find("service    http://" + service + "/"), std::string::npos)
      << read_file(log);
  EXPECT_NE(read_file(log).find(subnet + ".101:8081"), std::string::npos) << read_file(log);

  net::HttpRequest request;
  request.target = "/api/figures";
  const auto through = net::fetch(*core::parse_endpoint(service), request, 5s);
  ASSERT_TRUE(through.ok()) << through.message;
  EXPECT_EQ(through.response->status, 200);
  EXPECT_NE(through.response->body.find("giraffe"), std::string::npos);

  json::object view;
  EXPECT_TRUE(eventually(
      [&] {
        view = balancers(island);
        return role_of(view, subnet + ".101:8081") == "active" &&
               role_of(view, subnet + ".102:8081") == "standby";
      },
      kPatience))
      << json::serialize(view);

  // The active one also holds the service address's lease in the island store.
  std::string status;
  EXPECT_TRUE(eventually(
      [&] {
        net::HttpRequest ask;
        ask.target = "/api/status";
        const auto answer = net::fetch(*core::parse_endpoint(subnet + ".101:8081"), ask, 2s);
        if (!answer.ok()) return false;
        status = answer.response->body;
        boost::system::error_code error;
        const auto parsed = json::parse(status, error);
        const auto* pair =
            !error && parsed.is_object() ? parsed.as_object().if_contains("pair") : nullptr;
        return pair != nullptr && pair->is_object() && pair->as_object().contains("lease") &&
               pair->as_object().at("lease") == "held" &&
               pair->as_object().contains("store_reachable") &&
               pair->as_object().at("store_reachable") == true;
      },
      kPatience))
      << status;

  up.signal(SIGINT);
  EXPECT_EQ(up.wait_for(60s), std::optional<int>(0)) << read_file(log);
  const auto output = read_file(log);
  const auto balancer_stopped = output.find("stopped balancer");
  const auto gateway_stopped = output.find("stopped gateway");
  ASSERT_NE(balancer_stopped, std::string::npos) << output;
  ASSERT_NE(gateway_stopped, std::string::npos) << output;
  EXPECT_LT(balancer_stopped, gateway_stopped) << output;
}

}  // namespace
}  // namespace isla::testing
