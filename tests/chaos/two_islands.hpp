#pragma once
// Two federated islands on a multi-host test bed, for issue 11's chaos tests. Island a and
// island b each have 3 gateways (hosts 1-3, the store's voters and each other's seeds, every
// gateway of the other island as --island-peers) and 3 piece servers (hosts 4-6, each
// figure on two of them). Every node of both islands signs with one secret. Island b holds
// figures island a does not, and the other way round.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/child_process.hpp"
#include "core/endpoint.hpp"
#include "net/http_client.hpp"
#include "support/testbed.hpp"

namespace isla::testing {

struct TwoIslandsOptions {
  // Extra flags for one gateway, by island and index ({0, 0}: a1).
  std::map<std::pair<int, int>, std::vector<std::string>> gateway_flags;
  // Every piece server delays its answers this long, so that requests stay in flight.
  std::chrono::milliseconds response_delay{0};
};

class TwoIslands {
 public:
  static constexpr int kIslands = 2;
  static constexpr int kGateways = 3;
  static constexpr int kPieceServers = 3;

  // Makes the bed, starts every node and waits until both islands have settled. nullptr
  // with `why_not` set when this machine cannot make a bed; throws when it can but the
  // islands do not come up.
  static std::unique_ptr<TwoIslands> start(TwoIslandsOptions options, std::string& why_not);
  ~TwoIslands();

  const Testbed& bed() const { return *bed_; }
  const TestbedHost& gateway_host(int island, int index) const { return bed_->host(island, index); }
  const TestbedHost& pieces_host(int island, int index) const {
    return bed_->host(island, kGateways + index);
  }
  core::Endpoint gateway(int island, int index) const;
  std::vector<core::Endpoint> gateways(int island) const;
  // The index of the gateway listening at `address` in `island`, if one does.
  std::optional<int> gateway_index(int island, const std::string& address) const;
  // The figures the piece servers of `island` hold (island 1's are none of island 0's).
  static std::vector<std::string> figures_of(int island);

  // Starts (or starts again, on the same data directory) a gateway, and returns once it
  // listens.
  void start_gateway(int island, int index);
  core::ChildProcess& gateway_process(int island, int index);
  // Undoes what a test that stopped half-way may have left: heals every gateway's host and
  // starts again every gateway that is not running.
  void restore();

  // A GET to a gateway sent from its own host, so that it reaches the gateway also while
  // its host is cut off from the others.
  net::ClientResult get(int island, int index, const std::string& target,
                        std::chrono::milliseconds timeout = std::chrono::seconds(3)) const;
  boost::json::value status(int island, int index) const;  // null when it does not answer
  std::optional<double> metric(int island, int index, const std::string& series) const;

  // Why `island` is not settled yet, or empty when it is: every gateway answers and sees
  // the others alive and not draining, they all name the same bridge, each routes to the
  // island's piece servers and knows the other island's figures.
  std::string unsettled(int island) const;
  // Waits until both islands have settled.
  ::testing::AssertionResult settle(std::chrono::milliseconds timeout);

  // The end of every node's log, for a failed test.
  std::string log_tails(std::size_t lines = 40) const;

 private:
  TwoIslands(Testbed bed, TwoIslandsOptions options);
  void start_pieces(int island, int index);
  std::string log_of(const TestbedHost& host) const;

  std::optional<Testbed> bed_;
  TwoIslandsOptions options_;
  std::filesystem::path dir_;
  std::map<std::pair<int, int>, core::ChildProcess> gateways_;
  std::map<std::pair<int, int>, core::ChildProcess> pieces_;
};

// Reading a gateway's /api/status.
std::optional<std::string> bridge_of(const boost::json::value& status);
// What `status` says of the peer at `address`: its "state" and "incarnation".
std::optional<std::string> peer_state(const boost::json::value& status, const std::string& address);
std::optional<std::uint64_t> peer_incarnation(const boost::json::value& status,
                                              const std::string& address);

}  // namespace isla::testing
