// The dashboard in a real headless chromium: live server table, the store's members, figure
// browser, and updates without reload when a piece server dies.
#include <gtest/gtest.h>
#include <signal.h>

#include <cstdlib>

#include "browser/webdriver.hpp"
#include "net/tls.hpp"
#include "pieces/catalog.hpp"
#include "support/island.hpp"
#include "support/raw_http.hpp"
#include "support/run_command.hpp"

namespace isla::testing {
namespace {

using namespace std::chrono_literals;

TEST(Dashboard, ShowsServersBrowsesFiguresAndUpdatesWithoutReload) {
  Island island;
  island.start_gateway();
  island.start_pieces(0, {"giraffe", "owl"});
  island.start_pieces(1, {"giraffe", "dragon"});
  island.wait_for_servers(2);

  WebDriver browser;
  ASSERT_TRUE(browser.ready());
  browser.navigate("http://" + island.gateway().str() + "/");

  const std::string rows =
      "return document.querySelectorAll('#servers-table tbody tr[data-address]').length;";
  ASSERT_TRUE(eventually([&] { return as_integer(browser.execute(rows)) == 2; }, 10s));
  ASSERT_TRUE(eventually(
      [&] {
        return as_integer(browser.execute(
                   "return document.querySelectorAll('#figures-list [data-figure]').length;")) == 3;
      },
      10s));

  // The gateway is the only voter of its own store, so it leads it.
  EXPECT_TRUE(eventually(
      [&] {
        auto role = browser.execute("return document.querySelector('#store-role').textContent;");
        return role.is_string() && role.as_string() == "leader";
      },
      10s));
  // And the store panel lists it as its one member: a voter, and the leader.
  const std::string member =
      "const rows = document.querySelectorAll('#store-members tbody tr[data-address]');"
      "return Array.from(rows, (r) => [r.dataset.address, r.dataset.role, r.dataset.leader]"
      ".join(' ')).join(';');";
  EXPECT_TRUE(eventually(
      [&] {
        auto rows = browser.execute(member);
        return rows.is_string() && rows.as_string() == island.gateway().str() + " voter true";
      },
      10s))
      << browser.execute(member);

  browser.click("#figures-list [data-figure='giraffe']");
  const auto giraffe =
      pieces::parse_figure(read_file(catalog_dir() / "giraffe.toml"), "giraffe.toml");
  ASSERT_TRUE(eventually(
      [&] {
        return as_integer(browser.execute(
                   "return document.querySelectorAll('#figure-pieces tbody tr').length;")) ==
               static_cast<long long>(giraffe.pieces.size());
      },
      10s));
  const auto first_part =
      browser.execute("return document.querySelector('#figure-pieces tbody tr').textContent;");
  ASSERT_TRUE(first_part.is_string());
  EXPECT_NE(std::string(first_part.as_string()).find(giraffe.pieces[0].part), std::string::npos);

  // A piece server dies: the table follows without a reload.
  browser.execute("window.__marker = 'same page';");
  island.pieces_process(0).signal(SIGKILL);
  EXPECT_TRUE(eventually([&] { return as_integer(browser.execute(rows)) == 1; }, 10s));
  const auto marker = browser.execute("return window.__marker;");
  EXPECT_TRUE(marker.is_string() && marker.as_string() == "same page");

  if (const char* shot = std::getenv("ISLA_SCREENSHOT")) browser.screenshot(shot);
}

TEST(Dashboard, WorksOverHttps) {
  Island island;
  const auto certs = island.dir() / "tls";
  const auto made = run_isla({"certs", "init", "--dir", certs.string(), "--hosts",
                              island.gateway().host + "," + island.pieces_address(0).host});
  ASSERT_EQ(made.exit_code, 0) << made.output;
  net::HttpClientOptions client;
  client.tls = net::make_client_tls(certs / "ca.pem");
  island.set_client_options(client);
  island.start_gateway({"--tls-dir", certs.string()});
  island.start_pieces(0, {"giraffe", "owl"}, {"--tls-dir", certs.string()});
  island.wait_for_servers(1);

  WebDriver browser;
  ASSERT_TRUE(browser.ready());
  browser.navigate("https://" + island.gateway().str() + "/");
  // The page's own requests (relative URLs) go over HTTPS too and fill its tables.
  EXPECT_TRUE(eventually(
      [&] {
        return as_integer(browser.execute("return document.querySelectorAll('#servers-table tbody "
                                          "tr[data-address]').length;")) == 1;
      },
      10s));
  EXPECT_TRUE(eventually(
      [&] {
        return as_integer(browser.execute(
                   "return document.querySelectorAll('#figures-list [data-figure]').length;")) == 2;
      },
      10s));
}

}  // namespace
}  // namespace isla::testing
