// Connection caps and memory after a flood, against a real gateway process.
#include <gtest/gtest.h>

#include <fstream>
#include <memory>
#include <vector>

#include "support/island.hpp"
#include "support/metrics_text.hpp"
#include "support/raw_http.hpp"

namespace isla::testing {
namespace {

using namespace std::chrono_literals;

std::string scrape(const Island& island) {
  auto answer = island.get("/metrics");
  return answer.ok() && answer.response->status == 200 ? answer.response->body : "";
}

double open_connections(const Island& island) {
  return metric(scrape(island), "isla_http_connections_open").value_or(-1);
}

// Resident memory of a process in KiB, from /proc/<pid>/status.
long resident_kib(int pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.starts_with("VmRSS:")) return std::stol(line.substr(6));
  }
  return -1;
}

// An address of the island's own subnet that no server of it listens on, to connect from.
std::string source_address(const Island& island, int index) {
  const auto& host = island.gateway().host;
  return host.substr(0, host.rfind('.') + 1) + std::to_string(200 + index);
}

std::vector<std::unique_ptr<RawConnection>> open_idle(const Island& island, int count,
                                                      const std::string& from) {
  std::vector<std::unique_ptr<RawConnection>> connections;
  for (int i = 0; i < count; ++i) {
    connections.push_back(std::make_unique<RawConnection>(island.gateway(), "", 0, from));
  }
  return connections;
}

TEST(ConnectionLimits, OneSourceOverItsCapIsRefusedAndCountedWhileOthersAreServed) {
  Island island;
  island.start_gateway({"--max-connections-per-source", "20"});
  const auto flooder = source_address(island, 0);
  auto held = open_idle(island, 20, flooder);
  ASSERT_TRUE(eventually([&] { return open_connections(island) >= 20; }, 10s));

  auto refused = open_idle(island, 5, flooder);
  const std::string series = "isla_http_connections_refused_total{reason=\"source\"}";
  EXPECT_TRUE(eventually([&] { return metric(scrape(island), series) == 5; }, 10s))
      << scrape(island);
  for (auto& connection : refused) EXPECT_EQ(connection->read_to_end(5s), "");

  // The scrapes above came from another address; so does a figure list.
  const auto figures = island.get("/api/figures");
  ASSERT_TRUE(figures.ok()) << figures.message;
  EXPECT_EQ(figures.response->status, 200);
  EXPECT_EQ(metric(scrape(island), "isla_http_connections_refused_total{reason=\"listener\"}"), 0);
}

TEST(ConnectionLimits, MemoryTakenByAFloodOfIdleConnectionsIsReturnedAfterThey) {
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  // The sanitizers' allocators keep freed memory in quarantine and ignore malloc_trim:
  // resident size says nothing about what isla gave back there.
  GTEST_SKIP() << "resident memory is the sanitizer allocator's, not glibc's";
#endif
  Island island;
  island.start_gateway();
  const int pid = island.gateway_process().pid();
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(island.get("/api/status").ok());
  const long before = resident_kib(pid);
  ASSERT_GT(before, 0);

  constexpr int kSources = 8;
  constexpr int kPerSource = 500;  // under the default per-source cap
  std::vector<std::unique_ptr<RawConnection>> flood;
  for (int source = 0; source < kSources; ++source) {
    auto more = open_idle(island, kPerSource, source_address(island, source));
    for (auto& connection : more) flood.push_back(std::move(connection));
  }
  ASSERT_TRUE(eventually([&] { return open_connections(island) >= kSources * kPerSource; }, 20s))
      << "open: " << open_connections(island);
  const long peak = resident_kib(pid);

  flood.clear();
  ASSERT_TRUE(eventually([&] { return open_connections(island) <= 1; }, 20s));
  // Generous: the point is that it comes back at all (it used to stay at the peak).
  const long bound = before + std::max(16L * 1024, (peak - before) / 3);
  long now = 0;
  EXPECT_TRUE(eventually([&] { return (now = resident_kib(pid)) <= bound; }, 10s))
      << "resident KiB: before " << before << ", with " << kSources * kPerSource << " connections "
      << peak << ", after " << now << " (bound " << bound << ")";
  RecordProperty("rss_kib_before", std::to_string(before));
  RecordProperty("rss_kib_peak", std::to_string(peak));
  RecordProperty("rss_kib_after", std::to_string(now));
}

}  // namespace
}  // namespace isla::testing
