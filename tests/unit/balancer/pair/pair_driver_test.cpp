// PairDriver on real UDP sockets on loopback, with the ListenerAddress seam: two members on
// 127.0.0.1 with different ports elect one server, hand over when it stops, ignore a forger
// on the same port, and report their status.
#include "balancer/pair/pair_driver.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio/ip/udp.hpp>
#include <filesystem>
#include <thread>

#include "balancer/pair/heartbeat_codec.hpp"
#include "balancer/pair/pair_metrics.hpp"
#include "observability/metrics.hpp"

namespace isla::balancer::pair {
namespace {

using namespace std::chrono_literals;

template <class Condition>
bool eventually(Condition condition, std::chrono::milliseconds limit = 10s) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (condition()) return true;
    std::this_thread::sleep_for(5ms);
  }
  return condition();
}

std::uint16_t free_udp_port() {
  asio::io_context context;
  boost::asio::ip::udp::socket socket(
      context, boost::asio::ip::udp::endpoint(boost::asio::ip::make_address("127.0.0.1"), 0));
  return socket.local_endpoint().port();
}

class PairDriverTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("isla-pair-driver-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
    ports_[0] = free_udp_port();
    ports_[1] = free_udp_port();
    for (int i = 0; i < 2; ++i) {
      addresses_[i] =
          std::make_unique<ListenerAddress>([this, i](bool serve) { serving_[i] = serve; });
    }
    thread_ = std::thread([this] {
      auto guard = asio::make_work_guard(context_);
      context_.run();
    });
  }
  void TearDown() override {
    for (auto& driver : drivers_) driver.reset();
    context_.stop();
    thread_.join();
    std::filesystem::remove_all(dir_);
  }
  PairOptions options(int i) const {
    PairOptions o;
    o.heartbeat = {"127.0.0.1", ports_[i]};
    o.peer = {"127.0.0.1", ports_[1 - i]};
    o.priority = i == 0 ? 200 : 100;
    o.secret = "driver-test-secret";
    o.term_file = dir_ / ("m" + std::to_string(i) + ".term");
    return o;
  }
  void start(int i) {
    drivers_[i] = std::make_unique<PairDriver>(context_, options(i), *addresses_[i]);
    drivers_[i]->start();
  }
  int serving() const { return int(serving_[0].load()) + int(serving_[1].load()); }

  asio::io_context context_;
  std::thread thread_;
  std::filesystem::path dir_;
  std::uint16_t ports_[2]{};
  std::atomic<bool> serving_[2]{false, false};
  std::unique_ptr<ListenerAddress> addresses_[2];
  std::unique_ptr<PairDriver> drivers_[2];
};

TEST_F(PairDriverTest, ElectsOneServerHandsOverOnStopAndReportsItsStatus) {
  start(0);
  start(1);
  ASSERT_TRUE(eventually([&] { return serving_[0] && !serving_[1]; }));
  ASSERT_TRUE(eventually([&] { return drivers_[1]->status().peer_alive; }));
  const auto active = drivers_[0]->status();
  EXPECT_EQ(active.role, PairRole::active);
  EXPECT_TRUE(active.holds_address);
  EXPECT_EQ(drivers_[1]->status().role, PairRole::standby);
  EXPECT_EQ(drivers_[1]->status().leader, options(0).heartbeat.str());
  EXPECT_GT(drivers_[1]->status().beats_received, 0u);
  const auto json = to_json(active);
  EXPECT_EQ(json.at("role").as_string(), "active");
  prometheus::Registry registry;
  PairMetrics metrics(registry);
  metrics.update(active);
  metrics.update(drivers_[0]->status());  // counters advance by the difference only
  const auto text = observability::render(registry);
  EXPECT_NE(text.find("isla_balancer_pair_role{role=\"active\"} 1"), std::string::npos) << text;
  EXPECT_NE(text.find("isla_balancer_pair_role{role=\"standby\"} 0"), std::string::npos);
  EXPECT_NE(text.find("isla_balancer_pair_holds_address 1"), std::string::npos);
  EXPECT_NE(text.find("isla_balancer_pair_takeovers_total 1"), std::string::npos) << text;

  const auto stopped = std::chrono::steady_clock::now();
  drivers_[0]->stop();
  EXPECT_FALSE(serving_[0]);
  ASSERT_TRUE(eventually([&] { return serving_[1].load(); }));
  // `leaving` makes the handover immediate, not a peer timeout later (generous for load).
  EXPECT_LT(std::chrono::steady_clock::now() - stopped, 2s);
  EXPECT_EQ(serving(), 1);
}

TEST_F(PairDriverTest, ARestartedMemberLeadsAHigherTermFromItsTermFile) {
  start(0);
  ASSERT_TRUE(eventually([&] { return serving_[0].load(); }));
  const auto first = drivers_[0]->status().term;
  drivers_[0].reset();  // as a crash: no stop
  serving_[0] = false;
  // The old socket closes on the io thread: bind again once it has.
  ASSERT_TRUE(eventually([&] {
    try {
      start(0);
      return true;
    } catch (const std::runtime_error&) {
      return false;
    }
  }));
  ASSERT_TRUE(eventually([&] { return serving_[0].load(); }));
  EXPECT_GT(drivers_[0]->status().term, first);
}

TEST_F(PairDriverTest, ForgedDatagramsOnTheWireAreDroppedAndCounted) {
  start(0);
  start(1);
  ASSERT_TRUE(eventually([&] { return serving_[0] && !serving_[1]; }));
  const auto term = drivers_[0]->status().term;
  Heartbeat forged;
  forged.node = options(1).heartbeat.str();
  forged.priority = 1000;
  forged.incarnation = 1;
  forged.seq = 1;
  forged.ts = static_cast<std::uint64_t>(core::wall_clock_ms());
  forged.term = term + (std::uint64_t{50} << 32);
  election::ElectionMessage coordinator;
  coordinator.kind = election::MessageKind::coordinator;
  coordinator.from = {forged.node, 1000};
  coordinator.term = forged.term;
  forged.messages.push_back(coordinator);
  asio::io_context io;
  boost::asio::ip::udp::socket socket(io, boost::asio::ip::udp::v4());
  const boost::asio::ip::udp::endpoint target(boost::asio::ip::make_address("127.0.0.1"),
                                              ports_[0]);
  for (int i = 0; i < 10; ++i)
    socket.send_to(boost::asio::buffer(encode(forged, "guessed")), target);
  socket.send_to(boost::asio::buffer(std::string("not a datagram")), target);
  ASSERT_TRUE(eventually([&] {
    const auto dropped = drivers_[0]->status().dropped;
    return dropped.contains("bad_signature") && dropped.at("bad_signature") == 10 &&
           dropped.contains("bad_magic");
  }));
  EXPECT_TRUE(serving_[0]);
  EXPECT_EQ(drivers_[0]->status().term, term);
}

}  // namespace
}  // namespace isla::balancer::pair
