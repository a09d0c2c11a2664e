#pragma once
// What the chaos tests of a balancer pair holding a VIP in the multi-host test bed
// (docs/testbed.md) share: one island of three hosts, a1 and a2 the pair, a3 the client, a
// VIP at .100 of the island's subnet, and the questions the tests ask of it (who holds the
// address, who answers on it, how long a takeover left it silent).
#include <gtest/gtest.h>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

#include "core/child_process.hpp"
#include "support/testbed.hpp"

namespace isla::testing {

class VipPairBed : public ::testing::Test {
 protected:
  // `probe_mode` is isla-vip-probe's client mode for what the pair serves: "probe" (a raw
  // name over TCP) or "http-probe" (GET /).
  explicit VipPairBed(std::string probe_mode) : probe_mode_(std::move(probe_mode)) {}

  // Skips without root, namespaces or /dev/net/tun.
  void SetUp() override;
  // The directory is kept when the test failed, for its logs.
  void TearDown() override;

  const TestbedHost& host(int i) const { return bed_->host(0, i); }
  // Whether the host's namespace has the VIP on any interface (`ip addr`).
  bool holds(int i) const;
  int holders() const { return int(holds(0)) + int(holds(1)); }
  // The name that answers on VIP:8080 from a3 now, or "" when nothing does.
  std::string answering() const;

  // Starts a probe from a3 that runs until another member answers; returns once it has seen
  // the first answer.
  void start_probe();
  struct Takeover {
    std::string new_name;               // who answered after the old one went silent
    std::int64_t first_new_ok_ms = -1;  // wall clock, ms
    std::string log;
  };
  // Waits for the probe's verdict.
  Takeover await_probe();

  // Cuts a1 from a2, waits until both hold the address (two members have no majority), heals,
  // and expects exactly one holder, a1, from then on.
  void expect_partition_heals_to_one_holder();

  static constexpr const char* kPort = "8080";
  std::optional<Testbed> bed_;
  std::string vip_;
  std::filesystem::path dir_;

 private:
  std::string probe_mode_;
  std::optional<core::ChildProcess> probe_;
  std::filesystem::path probe_log_;
};

}  // namespace isla::testing
