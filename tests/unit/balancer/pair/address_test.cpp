// The service address seams: the listener hook, the interface address's commands (run through
// a recording stand-in for `ip` and `arping`), and the store lease on an in-memory store.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "balancer/pair/interface_address.hpp"
#include "balancer/pair/service_address.hpp"
#include "balancer/pair/store_address_lease.hpp"
#include "support/memory_store.hpp"

namespace isla::balancer::pair {
namespace {

TEST(ListenerAddress, CallsTheServeHookAndCountsAThrowingBindAsAFailedClaim) {
  std::vector<bool> calls;
  bool fail = false;
  ListenerAddress address([&](bool serve) {
    calls.push_back(serve);
    if (serve && fail) throw std::runtime_error("address in use");
  });
  EXPECT_TRUE(address.claim(1));
  address.release();
  fail = true;
  EXPECT_FALSE(address.claim(2));
  EXPECT_EQ(calls, (std::vector<bool>{true, false, true, false}));
}

class RecordingPrograms : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("isla-pair-address-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
    write_program("ip", "0");
    write_program("arping", "0");
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  void write_program(const std::string& name, const std::string& exit_code) {
    const auto path = dir_ / name;
    std::ofstream(path) << "#!/bin/sh\necho \"" << name << " $*\" >> " << (dir_ / "log").string()
                        << "\nexit " << exit_code << "\n";
    std::filesystem::permissions(path, std::filesystem::perms::owner_all);
  }
  std::string log(std::size_t lines) {
    for (int i = 0; i < 500; ++i) {
      std::ifstream in(dir_ / "log");
      std::stringstream text;
      text << in.rdbuf();
      const auto contents = text.str();
      if (std::size_t(std::count(contents.begin(), contents.end(), '\n')) >= lines) return contents;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));  // arping runs in the background
    }
    return "timed out";
  }
  InterfaceAddressOptions options() {
    InterfaceAddressOptions o;
    o.address = "10.9.9.100";
    o.prefix_length = 24;
    o.interface = "eth0";
    o.in_process = false;  // the recording programs, never this machine's interfaces
    o.ip_program = (dir_ / "ip").string();
    o.arping_program = (dir_ / "arping").string();
    return o;
  }
  std::filesystem::path dir_;
};

TEST_F(RecordingPrograms, ClaimAddsTheAddressThenAnnouncesItAndReleaseDeletesIt) {
  InterfaceAddress address(options());
  ASSERT_TRUE(address.claim(7));
  const auto text = log(2);
  EXPECT_NE(text.find("ip addr replace 10.9.9.100/24 dev eth0\n"), std::string::npos) << text;
  EXPECT_NE(text.find("arping -q -U -c 2 -I eth0 10.9.9.100\n"), std::string::npos) << text;
  address.release();
  EXPECT_NE(log(3).find("ip addr del 10.9.9.100/24 dev eth0\n"), std::string::npos);
  EXPECT_EQ(address.describe(), "10.9.9.100/24 on eth0");
}

TEST_F(RecordingPrograms, AFailedAddIsAFailedClaimAndLeavesNothingBehind) {
  write_program("ip", "2");
  InterfaceAddress address(options());
  EXPECT_FALSE(address.claim(7));
  const auto text = log(2);
  EXPECT_NE(text.find("ip addr del"), std::string::npos) << text;
  EXPECT_EQ(text.find("arping"), std::string::npos) << text;
}

TEST_F(RecordingPrograms, AMissingProgramIsAFailedClaimNotACrash) {
  auto o = options();
  o.ip_program = (dir_ / "no-such-ip").string();
  InterfaceAddress address(o);
  EXPECT_FALSE(address.claim(1));
  address.release();
}

// The store lease on an in-memory store::Store.
class StoreLeaseTest : public ::testing::Test {
 protected:
  LeaseVerdict hold(StoreAddressLease& lease, election::Term term) {
    std::optional<LeaseVerdict> verdict;
    lease.hold(term, [&](LeaseVerdict v) { verdict = v; });
    context_.restart();
    context_.run();
    return verdict.value();
  }
  StoreAddressLease make(const std::string& holder) {
    return StoreAddressLease(context_.get_executor(), store_,
                             {"balancer/vip/10.9.9.100:80", holder, std::chrono::milliseconds(3000),
                              std::chrono::milliseconds(1000)});
  }
  asio::io_context context_;
  testing::MemoryStore store_;
};

TEST_F(StoreLeaseTest, TheFirstHolderKeepsItAndTheOtherIsRefusedWhateverItsTerm) {
  auto a = make("10.0.0.1:7000");
  auto b = make("10.0.0.2:7000");
  EXPECT_EQ(hold(a, 100), LeaseVerdict::held);
  EXPECT_EQ(hold(a, 100), LeaseVerdict::held);  // renewal
  EXPECT_EQ(hold(b, 200), LeaseVerdict::lost);
  const auto kvs = store_.dump("balancer/vip/");
  ASSERT_EQ(kvs.size(), 1u);
  EXPECT_EQ(kvs.front().value, lease_value(100, "10.0.0.1:7000"));
  EXPECT_NE(kvs.front().lease, 0);
  // A moves to a higher term: its own key, rewritten.
  EXPECT_EQ(hold(a, 300), LeaseVerdict::held);
  EXPECT_EQ(term_of_lease_value(store_.dump("balancer/vip/").front().value), 300u);
  // Released: B may take it.
  a.release();
  context_.restart();
  context_.run();
  EXPECT_EQ(hold(b, 400), LeaseVerdict::held);
  EXPECT_EQ(hold(a, 300), LeaseVerdict::lost);
}

TEST_F(StoreLeaseTest, AnUnavailableStoreIsNotALoss) {
  auto a = make("10.0.0.1:7000");
  store_.set_leader(false);
  EXPECT_EQ(hold(a, 1), LeaseVerdict::unavailable);
  store_.set_leader(true);
  EXPECT_EQ(hold(a, 1), LeaseVerdict::held);
}

TEST(LeaseValue, OrdersAsTermsAndParsesBack) {
  EXPECT_LT(lease_value(9, "x"), lease_value(10, "x"));
  EXPECT_EQ(term_of_lease_value(lease_value(0xabcdef, "h:1")), 0xabcdefu);
  EXPECT_EQ(holder_of_lease_value(lease_value(5, "h:1")), "h:1");
  EXPECT_EQ(term_of_lease_value("garbage"), std::nullopt);
}

}  // namespace
}  // namespace isla::balancer::pair
