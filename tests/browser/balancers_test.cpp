// The dashboard's Balancers panel in a real headless chromium: two `isla balancer` processes
// in front of the island's gateways, one active and one standby with the same term and the
// gateways up; the active one killed -9, the panel shows the other active with a higher term,
// without a reload.
#include <gtest/gtest.h>
#include <signal.h>

#include "browser/webdriver.hpp"
#include "support/balancer_pair_processes.hpp"
#include "support/island.hpp"
#include "support/raw_http.hpp"

namespace isla::testing {
namespace {

using namespace std::chrono_literals;

// "ADMIN ROLE TERM" for each balancer box in the panel, and the gateways' health as the
// active one sees it.
const char* kPanel =
    "const boxes = document.querySelectorAll('#balancers-list .balancer[data-admin]');"
    "return Array.from(boxes, (b) => [b.dataset.admin, b.dataset.role, b.dataset.term].join(' '))"
    ".join(';');";
const char* kActiveBackends =
    "const box = document.querySelector('#balancers-list .balancer[data-role=\"active\"]');"
    "if (!box) return '';"
    "return Array.from(box.querySelectorAll('tbody tr[data-address]'),"
    "  (r) => r.dataset.address + '=' + r.dataset.health).join(',');";

std::string text(const boost::json::value& value) {
  return value.is_string() ? std::string(value.as_string()) : "";
}

// Parses "ADMIN ROLE TERM;..." into the role and term of `admin`.
std::pair<std::string, std::string> role_and_term(const std::string& panel,
                                                  const std::string& admin) {
  std::size_t at = panel.find(admin + " ");
  if (at == std::string::npos) return {};
  const auto end = panel.find(';', at);
  const auto item =
      panel.substr(at + admin.size() + 1,
                   end == std::string::npos ? std::string::npos : end - at - admin.size() - 1);
  const auto space = item.find(' ');
  if (space == std::string::npos) return {item, ""};
  return {item.substr(0, space), item.substr(space + 1)};
}

TEST(DashboardBalancers, ShowsTheActiveOneAndFollowsATakeover) {
  Island island;
  BalancerPairProcesses pair(island);
  island.start_gateway({"--balancer-admin", pair.admins()});
  pair.start({island.gateway().str()});
  const auto first = pair.admin(0);
  const auto second = pair.admin(1);

  WebDriver browser;
  ASSERT_TRUE(browser.ready());
  browser.navigate("http://" + island.gateway().str() + "/");

  std::string panel;
  ASSERT_TRUE(eventually(
      [&] {
        panel = text(browser.execute(kPanel));
        const auto [role1, term1] = role_and_term(panel, first);
        const auto [role2, term2] = role_and_term(panel, second);
        return role1 == "active" && role2 == "standby" && !term1.empty() && term1 == term2;
      },
      20s))
      << panel;
  const auto term = std::stoull(role_and_term(panel, first).second);
  std::string backends;
  const std::string all_up = island.gateway().str() + "=up";
  EXPECT_TRUE(eventually(
      [&] {
        backends = text(browser.execute(kActiveBackends));
        return backends == all_up;
      },
      20s))
      << backends;
  const auto summary =
      text(browser.execute("return document.querySelector('#balancers-summary').textContent;"));
  EXPECT_NE(summary.find(first), std::string::npos) << summary;

  browser.execute("window.__marker = 'same page';");
  pair.process(0).signal(SIGKILL);
  ASSERT_TRUE(eventually(
      [&] {
        panel = text(browser.execute(kPanel));
        const auto [role1, term1] = role_and_term(panel, first);
        const auto [role2, term2] = role_and_term(panel, second);
        return role1 == "unreachable" && role2 == "active" && !term2.empty() &&
               std::stoull(term2) > term;
      },
      20s))
      << panel;
  EXPECT_TRUE(eventually(
      [&] {
        backends = text(browser.execute(kActiveBackends));
        return backends == all_up;
      },
      20s))
      << backends;
  EXPECT_EQ(text(browser.execute("return window.__marker;")), "same page");
}

}  // namespace
}  // namespace isla::testing
