// The multi-host test bed itself (scripts/testbed/testbed.sh through support/testbed): hosts
// of an island reach each other over its bridge and hosts of two islands through the
// router, and each fault the chaos tests lean on does what it says: partition cuts and heal
// restores, loss drops, kill stops a host. Whatever a bed made is gone after it, also when
// the test that made it was killed. Skipped where namespaces cannot be made (not root).
#include "support/testbed.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <memory>

#include "security/island_secret.hpp"
#include "support/island.hpp"
#include "support/raw_http.hpp"
#include "support/udp_forger.hpp"

namespace isla::testing {
namespace {

using namespace std::chrono_literals;

constexpr std::uint16_t kPiecesPort = 1233;
constexpr std::uint16_t kDatagramPort = 9000;

// The namespaces on the machine whose names start with `prefix` (what `ip netns list` reads).
std::vector<std::string> namespaces_named(const std::string& prefix) {
  std::vector<std::string> found;
  std::error_code error;
  for (const auto& entry : std::filesystem::directory_iterator("/run/netns", error)) {
    const auto name = entry.path().filename().string();
    if (name.rfind(prefix, 0) == 0) found.push_back(name);
  }
  return found;
}

// The root namespace's network interfaces whose names hold `text` (what `ip link` lists).
std::vector<std::string> root_links_holding(const std::string& text) {
  std::vector<std::string> found;
  for (const auto& entry : std::filesystem::directory_iterator("/sys/class/net")) {
    const auto name = entry.path().filename().string();
    if (name.find(text) != std::string::npos) found.push_back(name);
  }
  return found;
}

bool bed_state_exists(const std::string& name) {
  return run_command({"/bin/bash", Testbed::script().string(), "show", "--name", name}).exit_code ==
         0;
}

// A bed of 2 islands of 3 hosts (a1-a3, b1-b3) for each test, with a directory for the
// piece servers it starts there.
class TestbedTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string why_not;
    bed_ = Testbed::create(2, 3, why_not);
    if (!bed_) GTEST_SKIP() << "needs a multi-host test bed: " << why_not;
    dir_ = std::filesystem::temp_directory_path() / ("isla-" + bed_->name());
    std::filesystem::create_directories(dir_);
    security::create_secret_file(dir_ / "secret");
  }
  void TearDown() override {
    if (!dir_.empty()) std::filesystem::remove_all(dir_);
  }

  const TestbedHost& a(int number) const { return bed_->host(0, number - 1); }
  const TestbedHost& b(int number) const { return bed_->host(1, number - 1); }

  // A piece server listening on the host's address, signed as a non-loopback node must be.
  core::ChildProcess start_pieces(const TestbedHost& host) {
    return bed_->spawn(
        host,
        {ISLA_BINARY, "pieces", "--listen", host.ip + ":" + std::to_string(kPiecesPort),
         "--secret-file", (dir_ / "secret").string(), "--catalog", catalog_dir().string(),
         "--data-dir", (dir_ / host.name).string(), "--threads", "1"},
        (dir_ / (host.name + ".log")).string());
  }

  // The status curl, run on `from`, gets for the figure list of `to`'s piece server ("200"),
  // or what curl says when it gets none.
  std::string figures_status(const TestbedHost& from, const TestbedHost& to) const {
    const auto url = "http://" + to.ip + ":" + std::to_string(kPiecesPort) + "/api/figures";
    return bed_
        ->run(from,
              {"curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", "--connect-timeout", "1",
               "--max-time", "3", url},
              10s)
        .output;
  }
  bool serves(const TestbedHost& from, const TestbedHost& to) const {
    return figures_status(from, to) == "200";
  }
  // The piece server on `to` starts, or comes back after a fault: wait until `from` gets it.
  ::testing::AssertionResult eventually_serves(const TestbedHost& from, const TestbedHost& to) {
    if (eventually([&] { return serves(from, to); }, 20s)) return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure()
           << from.name << " cannot get " << to.name << "'s figures: " << figures_status(from, to)
           << "\n---- " << to.name << " log ----\n"
           << read_file(dir_ / (to.name + ".log"));
  }

  // A UDP socket of this process that lives on `host`.
  std::unique_ptr<UdpSocket> udp_socket(const TestbedHost& host, std::uint16_t port) const {
    return bed_->in_host(host, [&] {
      return std::make_unique<UdpSocket>(core::Endpoint{host.ip, port});
    });
  }

  std::optional<Testbed> bed_;
  std::filesystem::path dir_;
};

// Counts the datagrams that arrive until none has for a while.
int drain(const UdpSocket& socket) {
  int count = 0;
  while (socket.receive(300ms)) ++count;
  return count;
}

TEST_F(TestbedTest, HostsReachTheirIslandOverItsBridgeAndOtherIslandsThroughTheRouter) {
  EXPECT_NE(bed_->island(0).subnet, bed_->island(1).subnet);
  auto pieces = start_pieces(a(1));
  ASSERT_TRUE(eventually_serves(a(2), a(1)));
  EXPECT_TRUE(serves(a(3), a(1)));
  EXPECT_TRUE(serves(b(1), a(1)));
  EXPECT_TRUE(serves(b(3), a(1)));
  // Across islands the path is the router's leg on the asking host's island.
  const auto route = bed_->run(b(3), {"ip", "route", "get", a(1).ip});
  EXPECT_NE(route.output.find("via " + bed_->island(1).router_ip), std::string::npos)
      << route.output;
  const auto local = bed_->run(a(2), {"ip", "route", "get", a(1).ip});
  EXPECT_EQ(local.output.find("via"), std::string::npos) << local.output;
}

TEST_F(TestbedTest, PartitionCutsAHostOffAndHealRestoresIt) {
  auto pieces = start_pieces(a(1));
  ASSERT_TRUE(eventually_serves(a(2), a(1)));
  bed_->partition(a(1));
  EXPECT_FALSE(serves(a(2), a(1)));
  EXPECT_FALSE(serves(b(1), a(1)));
  // Its own address goes over its loopback: the host is cut off, not broken.
  EXPECT_TRUE(serves(a(1), a(1)));
  bed_->heal(a(1));
  EXPECT_TRUE(eventually_serves(a(2), a(1)));
  EXPECT_TRUE(eventually_serves(b(1), a(1)));
}

TEST_F(TestbedTest, PartitionFromPeersCutsOnlyThoseLinks) {
  auto pieces = start_pieces(a(1));
  ASSERT_TRUE(eventually_serves(a(2), a(1)));
  bed_->partition(a(1), {a(2), b(1)});
  EXPECT_FALSE(serves(a(2), a(1)));
  EXPECT_FALSE(serves(b(1), a(1)));
  EXPECT_TRUE(serves(a(3), a(1)));
  EXPECT_TRUE(serves(b(2), a(1)));
  bed_->heal(a(1));
  EXPECT_TRUE(eventually_serves(a(2), a(1)));
  EXPECT_TRUE(eventually_serves(b(1), a(1)));
}

TEST_F(TestbedTest, LossDropsThatShareOfDatagramsAndUdpOnlyLeavesTcpAlone) {
  auto receiver = udp_socket(b(1), kDatagramPort);
  auto sender = udp_socket(a(1), 0);
  const core::Endpoint to{b(1).ip, kDatagramPort};
  ASSERT_TRUE(eventually(
      [&] {
        sender->send(to, "hello");
        return receiver->receive(100ms).has_value();
      },
      10s))
      << "no datagram gets from a1 to b1 before any loss";
  drain(*receiver);

  bed_->loss(b(1), 100, /*udp_only=*/true);
  for (int i = 0; i < 50; ++i) sender->send(to, "lost");
  EXPECT_EQ(drain(*receiver), 0);
  auto pieces = start_pieces(b(1));
  EXPECT_TRUE(eventually_serves(a(1), b(1))) << "UDP-only loss must leave TCP alone";

  bed_->loss(b(1), 100);
  EXPECT_FALSE(serves(a(1), b(1)));

  // Half: each datagram is a coin toss. 200 of them land outside 40-160 with a probability
  // below 1e-17 (and the socket's buffer holds them all).
  bed_->loss(b(1), 50, /*udp_only=*/true);
  constexpr int kSent = 200;
  for (int i = 0; i < kSent; ++i) sender->send(to, "maybe");
  const int arrived = drain(*receiver);
  EXPECT_GT(arrived, 40);
  EXPECT_LT(arrived, 160);

  bed_->loss(b(1), 0);
  for (int i = 0; i < 20; ++i) sender->send(to, "back");
  EXPECT_EQ(drain(*receiver), 20);
  EXPECT_TRUE(serves(a(1), b(1)));
}

TEST_F(TestbedTest, KillStopsEveryProcessOfAHostAndNoOther) {
  auto first = bed_->spawn(a(2), {"sleep", "300"});
  auto second = bed_->spawn(a(2), {"sleep", "300"});
  auto neighbour = bed_->spawn(a(3), {"sleep", "300"});
  bed_->kill(a(2));
  EXPECT_EQ(first.wait_for(10s), 128 + SIGKILL);
  EXPECT_EQ(second.wait_for(10s), 128 + SIGKILL);
  EXPECT_TRUE(neighbour.running());
}

TEST(TestbedCleanup, DestroyingABedRemovesItsNamespacesLinksStateAndProcesses) {
  std::string why_not;
  auto bed = Testbed::create(2, 2, why_not);
  if (!bed) GTEST_SKIP() << "needs a multi-host test bed: " << why_not;
  const auto name = bed->name();
  EXPECT_EQ(namespaces_named(name + "-").size(), 5u) << "4 hosts and the router";
  auto left_running = bed->spawn(bed->host(1, 1), {"sleep", "300"});

  bed.reset();
  EXPECT_EQ(namespaces_named(name + "-"), std::vector<std::string>{});
  // The bed never puts a link in the root namespace; nothing of it may be left there.
  EXPECT_EQ(root_links_holding(name), std::vector<std::string>{});
  EXPECT_FALSE(bed_state_exists(name));
  EXPECT_EQ(left_running.wait_for(10s), 128 + SIGKILL);
}

TEST(TestbedCleanup, ABedWhoseOwnerWasKilledIsRemovedByTheNextBed) {
  if (auto why = Testbed::why_unavailable())
    GTEST_SKIP() << "needs a multi-host test bed: " << *why;
  // The owner makes its bed (owned by the shell that runs testbed.sh), then becomes a sleep.
  const auto stale = Testbed::unique_name();
  auto owner = core::ChildProcess::spawn(
      {"/bin/bash", "-c",
       Testbed::script().string() + " up --name " + stale +
           " --islands 1 --hosts-per-island 2 >/dev/null && exec sleep 300"});
  const auto comm = "/proc/" + std::to_string(owner.pid()) + "/comm";
  ASSERT_TRUE(eventually([&] { return read_file(comm) == "sleep\n" || !owner.running(); }, 60s));
  ASSERT_TRUE(owner.running()) << "testbed.sh up failed";
  ASSERT_EQ(namespaces_named(stale + "-").size(), 3u) << "2 hosts and the router";

  owner.signal(SIGKILL);
  ASSERT_TRUE(owner.wait_for(10s));
  std::string why_not;
  auto next = Testbed::create(1, 1, why_not);
  ASSERT_TRUE(next) << why_not;
  EXPECT_EQ(namespaces_named(stale + "-"), std::vector<std::string>{});
  EXPECT_FALSE(bed_state_exists(stale));
}

}  // namespace
}  // namespace isla::testing
