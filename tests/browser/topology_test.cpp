// The dashboard's topology and causal event log in a real headless chromium, on an island of
// three gateways: the page shows them alive with one bridge and one store leader, and when
// one of them is killed it turns dead and the log shows its death after its suspicion.
#include <gtest/gtest.h>
#include <signal.h>

#include <cstdlib>

#include "browser/webdriver.hpp"
#include "support/island.hpp"
#include "support/raw_http.hpp"

namespace isla::testing {
namespace {

using namespace std::chrono_literals;

// Generous: SWIM declares a death within about a second, but chromium and three gateways
// share a small loaded machine.
constexpr auto kDeadline = 15s;

std::string gateway_card(const std::string& address) {
  return "#topo-gateways [data-address='" + address + "']";
}

long long count(WebDriver& browser, const std::string& css_selector) {
  return as_integer(
      browser.execute("return document.querySelectorAll(\"" + css_selector + "\").length;"));
}

std::string attribute(WebDriver& browser, const std::string& css_selector,
                      const std::string& data_name) {
  return as_text(browser.execute("const e = document.querySelector(\"" + css_selector +
                                 "\"); return e ? e.dataset." + data_name + " : null;"));
}

TEST(DashboardTopology, ShowsGatewaysBridgeAndADeathInTheCausalLog) {
  Island island;
  island.start_gateways(3);
  const auto pieces = island.start_pieces(0, {"giraffe", "owl"});
  island.wait_for_servers(1);

  WebDriver browser;
  ASSERT_TRUE(browser.ready());
  browser.navigate("http://" + island.gateway().str() + "/");

  // Three gateways, all alive, exactly one of them the bridge and one the store's leader.
  const std::string alive = "#topo-gateways [data-address][data-state='alive']";
  ASSERT_TRUE(eventually(
      [&] {
        return count(browser, alive) == 3 &&
               count(browser, "#topo-gateways [data-bridge='true']") == 1 &&
               count(browser, "#topo-gateways [data-store-leader='true']") == 1;
      },
      kDeadline))
      << "alive: " << count(browser, alive)
      << ", bridges: " << count(browser, "#topo-gateways [data-bridge='true']");
  EXPECT_EQ(count(browser, "#topo-gateways [data-address]"), 3);
  EXPECT_EQ(attribute(browser, gateway_card(island.gateway().str()), "self"), "true");
  EXPECT_EQ(attribute(browser, "#topology", "bridge"),
            as_text(browser.execute(
                "return document.querySelector(\"#topo-gateways [data-bridge='true']\")"
                ".dataset.address;")));
  EXPECT_TRUE(eventually(
      [&] {
        return attribute(browser, "#topo-pieces [data-address='" + pieces.str() + "']", "state") ==
               "alive";
      },
      kDeadline));
  // The log already holds this gateway's own join and the bridge's election.
  EXPECT_TRUE(
      eventually([&] { return count(browser, "#events-table tbody tr[data-kind^='bridge_']") > 0; },
                 kDeadline));

  // A gateway that is not the one serving the page dies without a word.
  browser.execute("window.__marker = 'same page';");
  const auto victim = island.gateway(2).str();
  island.gateway_process(2).signal(SIGKILL);

  EXPECT_TRUE(eventually(
      [&] { return attribute(browser, gateway_card(victim), "state") == "dead"; }, kDeadline))
      << "its card says " << attribute(browser, gateway_card(victim), "state");
  const std::string died =
      "#events-table tbody tr[data-kind='member_died'][data-subject='" + victim + "']";
  ASSERT_TRUE(eventually([&] { return count(browser, died) == 1; }, kDeadline));
  // The island still has one bridge, among the living (a new one if the victim was it).
  EXPECT_TRUE(eventually(
      [&] {
        return count(browser, "#topo-gateways [data-bridge='true'][data-state='alive']") == 1;
      },
      kDeadline));

  // Selecting the death shows its causal past: its suspicion, when SWIM suspected it first,
  // happened before it.
  browser.click(died);
  EXPECT_EQ(attribute(browser, died, "relation"), "selected");
  EXPECT_GE(count(browser, "#events-table tbody tr[data-relation='predecessor']"), 1);
  const std::string suspected =
      "#events-table tbody tr[data-kind='member_suspected'][data-subject='" + victim + "']";
  if (count(browser, suspected) > 0) {
    const auto relation = attribute(browser, suspected, "relation");
    EXPECT_TRUE(relation == "predecessor" || relation == "past") << relation;
  }
  EXPECT_EQ(as_text(browser.execute("return window.__marker;")), "same page");

  if (const char* shot = std::getenv("ISLA_SCREENSHOT")) browser.screenshot(shot);
}

// The page's happened-before, from vector clocks, on a log where two nodes' events are
// concurrent (one gateway's own log never has any: its events form one chain).
TEST(DashboardTopology, CausalLogTellsPastFutureAndConcurrentEvents) {
  Island island;
  island.start_gateway();
  WebDriver browser;
  ASSERT_TRUE(browser.ready());
  browser.navigate("http://" + island.gateway().str() + "/");

  // a1 -> a2 (a send) -> b2 (its receipt); b1 is concurrent with a1, a2 and a3; a3 with b2.
  // The events come in two polls, and the second names a predecessor from the first by id.
  const auto result = browser.execute(R"js(
    return import("/causal.js").then(({ CausalLog }) => {
      const A = "10.0.0.1:5235", B = "10.0.0.2:5235";
      const log = new CausalLog(10);
      log.add([
        { id: 1, node: A, kind: "a1", lamport: 1, vector: { [A]: 1 }, after: [] },
        { id: 2, node: B, kind: "b1", lamport: 1, vector: { [B]: 1 }, after: [] },
        { id: 3, node: A, kind: "a2", lamport: 2, vector: { [A]: 2 }, after: [1] },
      ]);
      log.add([
        { id: 4, node: B, kind: "b2", lamport: 3, vector: { [A]: 2, [B]: 2 }, after: [2, 3] },
        { id: 5, node: A, kind: "a3", lamport: 3, vector: { [A]: 3 }, after: [3] },
      ]);
      const show = (key) => log.events.map((e) => e.kind + ":" + log.classify(key).get(e.key)).join(" ");
      return [show(A + "#3"), show(B + "#2"), log.events.map((e) => e.kind).join(" ")].join("|");
    });
  )js");
  const auto text = as_text(result);
  ASSERT_FALSE(text.empty()) << boost::json::serialize(result);
  EXPECT_EQ(text,
            // around a3: a1, a2 before it, b2 concurrent (it knows only a2), b1 concurrent
            "a1:past b1:concurrent a2:predecessor a3:selected b2:concurrent|"
            // around b2: both of its immediate predecessors, and a3 concurrent
            "a1:past b1:predecessor a2:predecessor a3:concurrent b2:selected|"
            // causal order: Lamport time, then node
            "a1 b1 a2 a3 b2");
}

}  // namespace
}  // namespace isla::testing
