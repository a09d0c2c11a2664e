#include "clocks/lamport.hpp"

#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <limits>
#include <vector>

namespace isla::clocks {
namespace {

TEST(Lamport, EveryLocalEventAdvancesTheClock) {
  LamportClock clock;
  EXPECT_EQ(clock.value(), 0u);
  EXPECT_EQ(clock.tick(), 1u);
  EXPECT_EQ(clock.tick(), 2u);
  EXPECT_EQ(clock.value(), 2u);
}

TEST(Lamport, AReceiptJumpsPastTheSendersTime) {
  LamportClock clock;
  clock.tick();
  EXPECT_EQ(clock.observe(10), 11u);
  // A message from the past still advances the clock: the receipt is a new event.
  EXPECT_EQ(clock.observe(3), 12u);
}

TEST(Lamport, SaturatesInsteadOfWrapping) {
  LamportClock clock;
  constexpr auto kMax = std::numeric_limits<std::uint64_t>::max();
  EXPECT_EQ(clock.observe(kMax), kMax);
  EXPECT_EQ(clock.tick(), kMax);
}

// Any interleaving of local events, sends and receipts among three nodes: every node's clock
// only grows, and each receipt is later than its send.
RC_GTEST_PROP(LamportProperty, ReceiptsComeAfterTheirSends,
              (const std::vector<std::pair<std::uint8_t, std::uint8_t>>& steps)) {
  std::vector<LamportClock> nodes(3);
  std::vector<std::pair<std::size_t, std::uint64_t>> in_flight;  // (receiver, send time)
  for (const auto& [who, what] : steps) {
    auto& node = nodes[who % 3];
    const auto before = node.value();
    if (what % 3 == 0) {
      node.tick();
    } else if (what % 3 == 1) {
      in_flight.emplace_back((who + 1u + what / 3u % 2u) % 3u, node.tick());
    } else {
      if (in_flight.empty()) continue;
      const auto [to, sent] = in_flight.front();
      in_flight.erase(in_flight.begin());
      RC_ASSERT(nodes[to].observe(sent) > sent);
      continue;
    }
    RC_ASSERT(node.value() > before);
  }
}

}  // namespace
}  // namespace isla::clocks
