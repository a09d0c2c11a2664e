// The balancer pair in the multi-host test bed (docs/testbed.md): two members (a1, priority
// 200, and a2) on one bridge holding a VIP, a client (a3) probing VIP:8080 every 10 ms. The
// active host dies, or only its process, or the pair is cut apart and healed: the VIP answers
// again from the other member, and afterwards exactly one host holds the address (what `ip
// addr` shows in each namespace). Runs isla-pair-member (tests/tools/) until `isla balancer`
// drives the same PairDriver. Skipped without root, namespaces or /dev/net/tun.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "core/clock.hpp"
#include "support/testbed.hpp"

namespace isla::testing {
namespace {

using namespace std::chrono_literals;

constexpr const char* kPort = "8080";

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

template <class Condition>
bool wait_until(Condition condition, std::chrono::milliseconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (condition()) return true;
    std::this_thread::sleep_for(20ms);
  }
  return condition();
}

class PairChaosTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!std::filesystem::exists("/dev/net/tun")) GTEST_SKIP() << "needs /dev/net/tun";
    std::string why_not;
    bed_ = Testbed::create(1, 3, why_not);
    if (!bed_) GTEST_SKIP() << "needs a multi-host test bed: " << why_not;
    const auto& subnet = bed_->island(0).subnet;  // 10.77.K.0/24
    vip_ = subnet.substr(0, subnet.rfind('.')) + ".100";
    dir_ = std::filesystem::temp_directory_path() / ("isla-" + bed_->name());
    std::filesystem::create_directories(dir_);
    std::ofstream(dir_ / "secret") << "pair-chaos-secret-0123456789abcdef\n";
  }
  void TearDown() override {
    members_[0].reset();
    members_[1].reset();
    if (!HasFailure() && !dir_.empty()) std::filesystem::remove_all(dir_);
  }

  const TestbedHost& host(int i) const { return bed_->host(0, i); }

  void start(int i) {
    const auto& self = host(i);
    const auto& peer = host(1 - i);
    members_[i].emplace(bed_->spawn(self,
                                    {ISLA_PAIR_MEMBER,
                                     "--heartbeat",
                                     self.ip + ":7946",
                                     "--peer",
                                     peer.ip + ":7946",
                                     "--priority",
                                     i == 0 ? "200" : "100",
                                     "--vip",
                                     vip_,
                                     "--interface",
                                     "eth0",
                                     "--serve",
                                     kPort,
                                     "--name",
                                     self.name,
                                     "--secret-file",
                                     (dir_ / "secret").string(),
                                     "--term-file",
                                     (dir_ / (self.name + ".term")).string(),
                                     "--status-file",
                                     (dir_ / (self.name + ".json")).string()},
                                    (dir_ / (self.name + ".log")).string()));
  }

  // Whether the host's namespace has the VIP on any interface.
  bool holds(int i) const {
    const auto shown = bed_->run(host(i), {"ip", "-o", "addr", "show"});
    return shown.output.find(" " + vip_ + "/") != std::string::npos;
  }
  int holders() const { return int(holds(0)) + int(holds(1)); }

  // The name that answers on VIP:PORT from a3 now, or "" when nothing does.
  std::string answering() const {
    const auto probed =
        bed_->run(host(2), {ISLA_VIP_PROBE, "probe", vip_ + ":" + kPort, "50", "120"}, 5s);
    const auto line = probed.output.find("answering ");
    if (line == std::string::npos) return "";
    const auto end = probed.output.find('\n', line);
    return probed.output.substr(line + 10, end - line - 10);
  }

  std::uint64_t round_of(int i) const {
    const auto text = read_file(dir_ / (host(i).name + ".json"));
    if (text.empty()) return 0;
    return boost::json::parse(text).at("round").to_number<std::uint64_t>();
  }

  // Starts a probe from a3 that runs until another member answers; returns once it has seen
  // the first answer.
  void start_probe() {
    probe_log_ = dir_ / "probe.log";
    std::filesystem::remove(probe_log_);
    probe_.emplace(bed_->spawn(host(2),
                               {ISLA_VIP_PROBE, "probe", vip_ + ":" + kPort, "10", "20000"},
                               probe_log_.string()));
    ASSERT_TRUE(wait_until(
        [&] { return read_file(probe_log_).find("answering ") != std::string::npos; }, 10s));
  }
  // Waits for the probe's verdict: ms from `killed_ms` until the new member answered.
  std::int64_t interruption_ms(std::int64_t killed_ms) {
    EXPECT_TRUE(probe_->wait_for(30s).has_value());
    const auto text = read_file(probe_log_);
    const auto json = text.substr(text.find('{'));
    const auto verdict = boost::json::parse(json).as_object();
    EXPECT_FALSE(verdict.at("new").is_null()) << text;
    if (verdict.at("new").is_null()) return -1;
    return verdict.at("first_new_ok_ms").to_number<std::int64_t>() - killed_ms;
  }

  std::optional<Testbed> bed_;
  std::string vip_;
  std::filesystem::path dir_;
  std::optional<core::ChildProcess> members_[2];
  std::optional<core::ChildProcess> probe_;
  std::filesystem::path probe_log_;
};

TEST_F(PairChaosTest, TheActiveHostDyingMovesTheAddressAndLeavesOneHolder) {
  start(0);
  start(1);
  ASSERT_TRUE(wait_until([&] { return answering() == "a1" && holders() == 1; }, 20s));
  start_probe();
  const auto killing = core::wall_clock_ms();
  bed_->kill(host(0));  // every process of the host, as when it dies
  const auto killed = core::wall_clock_ms();
  const auto took = interruption_ms(killing);
  // testbed.sh takes a while to find and kill the processes: the silence lies between
  // these bounds (bench/failover_vs_keepalived.sh measures it precisely).
  std::cout << "[ measured ] host death: the VIP answered again "
            << std::max<std::int64_t>(0, took - (killed - killing)) << "-" << took
            << " ms after the kill\n";
  EXPECT_GE(took, 0);
  EXPECT_LT(took, 3000) << "generous on a loaded machine; the benchmark reports the real figure";
  EXPECT_FALSE(holds(0));
  EXPECT_TRUE(holds(1));
}

TEST_F(PairChaosTest, OnlyTheProcessDyingLeavesNoDuplicateAndItsRestartTakesBackWithAHigherTerm) {
  start(0);
  start(1);
  ASSERT_TRUE(wait_until([&] { return answering() == "a1" && holders() == 1; }, 20s));
  const auto first_round = round_of(0);
  start_probe();
  const auto killed = core::wall_clock_ms();
  members_[0]->signal(SIGKILL);  // the process only: the host, its interfaces, stay
  const auto took = interruption_ms(killed);
  std::cout << "[ measured ] process death: the VIP answered again after " << took << " ms\n";
  EXPECT_LT(took, 3000);
  // keepalived leaves the address on the dead process's host here; the pair's address lives
  // on a device that died with the process.
  EXPECT_FALSE(holds(0));
  EXPECT_TRUE(holds(1));
  EXPECT_TRUE(wait_until([&] { return round_of(1) > first_round; }, 5s));

  const auto a2_round = round_of(1);
  members_[0].reset();
  start(0);  // the higher priority comes back: it takes over, with a term above a2's
  ASSERT_TRUE(wait_until([&] { return answering() == "a1"; }, 20s));
  EXPECT_TRUE(wait_until([&] { return round_of(0) > a2_round; }, 5s));
  EXPECT_TRUE(wait_until([&] { return holders() == 1 && holds(0); }, 5s));
}

TEST_F(PairChaosTest, APartitionedPairHealsToExactlyOneHolder) {
  start(0);
  start(1);
  ASSERT_TRUE(wait_until([&] { return answering() == "a1" && holders() == 1; }, 20s));
  bed_->partition(host(0), {host(1)});
  // Each half holds the address (VRRP's behaviour; with two members there is no majority).
  ASSERT_TRUE(wait_until([&] { return holders() == 2; }, 10s));
  bed_->heal(host(0));
  ASSERT_TRUE(wait_until([&] { return holders() == 1; }, 10s));
  // And it stays so: check a few times over two seconds.
  for (int i = 0; i < 10; ++i) {
    EXPECT_EQ(holders(), 1);
    std::this_thread::sleep_for(200ms);
  }
  EXPECT_TRUE(holds(0)) << "the higher priority holds it in the end";
  EXPECT_EQ(answering(), "a1");
}

}  // namespace
}  // namespace isla::testing
