#pragma once
// A fixture whose whole suite shares one island: a gateway and one piece server, started
// once (tests that kill or restart servers use their own Island instead).
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "support/island.hpp"

namespace isla::testing {

class SharedIslandTest : public ::testing::Test {
 protected:
  static void start_island(const std::vector<std::string>& figures) {
    island_ = std::make_unique<Island>();
    island_->start_gateway();
    island_->start_pieces(0, figures);
    island_->wait_for_servers(1);
  }
  static void TearDownTestSuite() { island_.reset(); }

  static inline std::unique_ptr<Island> island_;
};

}  // namespace isla::testing
