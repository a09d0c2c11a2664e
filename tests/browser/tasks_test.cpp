// The dashboard's Tasks panel in a real headless chromium, on an island of three gateways
// whose store leader runs the autoscaler: the page shows the worker it starts, and after a
// burst of tasks the queue filling and draining, the throughput, and the autoscaler scaling
// up, all without a reload.
#include <gtest/gtest.h>

#include <cstdlib>
#include <set>

#include "browser/webdriver.hpp"
#include "support/island.hpp"
#include "support/raw_http.hpp"

namespace isla::testing {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;

// Generous: the island, its workers and chromium share a small loaded machine.
constexpr auto kDeadline = 30s;
constexpr int kTasks = 60;

long long count(WebDriver& browser, const std::string& css_selector) {
  return as_integer(
      browser.execute("return document.querySelectorAll(\"" + css_selector + "\").length;"));
}

std::string text_of(WebDriver& browser, const std::string& id) {
  return as_text(browser.execute("const e = document.getElementById('" + id +
                                 "'); return e ? e.textContent : null;"));
}

// A figure of the panel as a number; -1 while it shows none (—).
long long figure(WebDriver& browser, const std::string& id) {
  return as_integer(browser.execute("const e = document.getElementById('" + id +
                                    "'); const n = e ? Number(e.textContent) : NaN;"
                                    "return Number.isInteger(n) ? n : -1;"));
}

double throughput(WebDriver& browser) {
  const auto value = browser.execute(
      "const v = Number(document.getElementById('tasks-throughput').dataset.value);"
      "return Number.isFinite(v) ? v : -1;");
  return value.is_number() ? value.to_number<double>() : -1.0;
}

// What the page says about workers: "id state" per row, in table order.
std::string workers_shown(WebDriver& browser) {
  return as_text(browser.execute(
      "return Array.from(document.querySelectorAll('#tasks-workers-table tbody tr'),"
      " (r) => r.dataset.worker + ' ' + r.dataset.state).join(';');"));
}

// The scaling list's entries: "decision workers desired" each, newest first.
std::string decisions_shown(WebDriver& browser) {
  return as_text(browser.execute(
      "return Array.from(document.querySelectorAll('#tasks-scaling-list li'),"
      " (li) => [li.dataset.decision, li.dataset.workers, li.dataset.desired].join(' '))"
      ".join(';');"));
}

// A scale-up decided on load: it had at least one worker and wanted more (the first
// scale-up only brings the pool to --min-workers).
bool load_scale_up_shown(WebDriver& browser) {
  return as_integer(browser.execute(
             "return Array.from(document.querySelectorAll("
             "'#tasks-scaling-list li[data-decision=\"scale_up\"]')).filter((li) =>"
             " Number(li.dataset.workers) >= 1 &&"
             " Number(li.dataset.desired) > Number(li.dataset.workers)).length;")) > 0;
}

// The store leader's address as gateway 0 sees it ("" while there is none).
std::string store_leader(const Island& island) {
  const auto status = island.get_json("/api/status");
  const auto* store = status.is_object() ? status.as_object().if_contains("store") : nullptr;
  const auto* leader = store != nullptr && store->is_object()
                           ? store->as_object().if_contains("leader_address")
                           : nullptr;
  return leader != nullptr && leader->is_string() ? std::string(leader->as_string()) : "";
}

TEST(DashboardTasks, ShowsWorkersQueueThroughputAndScalingLive) {
  Island island;
  island.start_gateways(3, {"--autoscale", "--min-workers", "1", "--max-workers", "3",
                            "--scale-high-for-ms", "1000", "--scale-low-for-ms", "3000"});

  // The page is served by a gateway that does not run the queue: every gateway reads the
  // queue, the workers and the decisions from the island store.
  std::string leader;
  ASSERT_TRUE(eventually([&] { return !(leader = store_leader(island)).empty(); }, kDeadline));
  const int page_gateway = island.gateway(0).str() == leader ? 1 : 0;

  WebDriver browser;
  ASSERT_TRUE(browser.ready());
  browser.navigate("http://" + island.gateway(page_gateway).str() + "/");
  browser.execute("window.__marker = 'same page';");

  // The store leader's autoscaler starts the one worker of --min-workers, and the table
  // shows it running once it heartbeats; it is the worker the scale-up says it started.
  ASSERT_TRUE(eventually(
      [&] { return count(browser, "#tasks-workers-table tbody tr[data-state='running']") >= 1; },
      kDeadline))
      << "workers: " << workers_shown(browser) << "\ngateway 0:\n"
      << island.gateway_log(0);
  EXPECT_EQ(as_text(browser.execute("return document.getElementById('tasks').dataset.available;")),
            "true");
  const std::string started = as_text(browser.execute(
      "const li = document.querySelector('#tasks-scaling-list li[data-decision=\"scale_up\"]');"
      "return li ? li.querySelector('.outcome').textContent : null;"));
  const std::string first_worker = as_text(browser.execute(
      "return document.querySelector('#tasks-workers-table tbody tr').dataset.worker;"));
  ASSERT_FALSE(first_worker.empty());
  EXPECT_NE(started.find(first_worker), std::string::npos)
      << "scale-up says: " << started << "; workers: " << workers_shown(browser);
  EXPECT_EQ(figure(browser, "tasks-depth-queued"), 0);
  EXPECT_EQ(figure(browser, "tasks-depth-done"), 0);
  EXPECT_FALSE(load_scale_up_shown(browser)) << decisions_shown(browser);

  // A burst: 60 tasks of 300 ms on one worker's 4 slots keep the queue busy for seconds.
  const auto token = island.token(security::Role::admin);
  const json::object task{{"type", "sleep"}, {"params", {{"ms", 300}}}};
  for (int i = 0; i < kTasks; ++i) {
    net::HttpRequest request;
    request.method = "POST";
    request.target = "/api/tasks";
    request.body = json::serialize(task);
    request.headers.emplace_back("Authorization", "Bearer " + token);
    request.headers.emplace_back("Content-Type", "application/json");
    const auto result = net::fetch(island.gateway(i % 3), request, 10s);
    ASSERT_TRUE(result.ok() && result.response->status == 202)
        << "submission " << i << ": "
        << (result.ok() ? std::to_string(result.response->status) + " " + result.response->body
                        : std::string("no answer"));
  }

  // The queue fills, the tasks get done, and the page follows without a reload.
  EXPECT_TRUE(eventually(
      [&] {
        return figure(browser, "tasks-depth-queued") > 0 ||
               figure(browser, "tasks-depth-running") > 0;
      },
      kDeadline))
      << "queued " << text_of(browser, "tasks-depth-queued") << ", running "
      << text_of(browser, "tasks-depth-running");
  EXPECT_TRUE(eventually([&] { return throughput(browser) > 0.0; }, kDeadline))
      << "throughput " << text_of(browser, "tasks-throughput");
  EXPECT_TRUE(eventually([&] { return load_scale_up_shown(browser); }, kDeadline))
      << "decisions: " << decisions_shown(browser) << "\ngateway 0:\n"
      << island.gateway_log(0);
  // The workers it started join the table.
  EXPECT_TRUE(eventually(
      [&] { return count(browser, "#tasks-workers-table tbody tr[data-worker]") >= 2; }, kDeadline))
      << "workers: " << workers_shown(browser);
  EXPECT_TRUE(eventually(
      [&] {
        return figure(browser, "tasks-depth-done") == kTasks &&
               figure(browser, "tasks-depth-queued") == 0 &&
               figure(browser, "tasks-depth-running") == 0;
      },
      kDeadline))
      << "done " << text_of(browser, "tasks-depth-done") << ", queued "
      << text_of(browser, "tasks-depth-queued") << ", running "
      << text_of(browser, "tasks-depth-running");
  EXPECT_EQ(figure(browser, "tasks-depth-dead"), 0);
  EXPECT_EQ(as_text(browser.execute("return window.__marker;")), "same page");

  if (const char* shot = std::getenv("ISLA_SCREENSHOT")) {
    browser.execute("document.getElementById('tasks').scrollIntoView();");
    browser.screenshot(shot);
  }
}

}  // namespace
}  // namespace isla::testing
