#include "clocks/vector_clock.hpp"

#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <string>

namespace isla::clocks {
namespace {

namespace json = boost::json;

VectorClock clock(VectorClock::Entries entries) {
  return VectorClock(std::move(entries));
}

TEST(VectorClock, ComparesEveryWay) {
  EXPECT_EQ(clock({}).compare(clock({})), CausalOrder::equal);
  EXPECT_EQ(clock({{"a", 1}}).compare(clock({{"a", 1}})), CausalOrder::equal);
  EXPECT_EQ(clock({{"a", 1}}).compare(clock({{"a", 2}})), CausalOrder::before);
  EXPECT_EQ(clock({{"a", 2}}).compare(clock({{"a", 1}})), CausalOrder::after);
  // A missing entry counts as 0.
  EXPECT_EQ(clock({{"a", 1}}).compare(clock({{"a", 1}, {"b", 1}})), CausalOrder::before);
  EXPECT_EQ(clock({{"a", 1}, {"b", 1}}).compare(clock({{"b", 1}})), CausalOrder::after);
  EXPECT_EQ(clock({{"a", 1}}).compare(clock({{"b", 1}})), CausalOrder::concurrent);
  EXPECT_EQ(clock({{"a", 2}, {"b", 1}}).compare(clock({{"a", 1}, {"b", 2}})),
            CausalOrder::concurrent);
  EXPECT_TRUE(clock({{"a", 1}}).happened_before(clock({{"a", 1}, {"c", 4}})));
  EXPECT_FALSE(clock({{"a", 1}}).happened_before(clock({{"a", 1}})));
}

TEST(VectorClock, IncrementsAndMerges) {
  VectorClock mine;
  EXPECT_EQ(mine.increment("a"), 1u);
  EXPECT_EQ(mine.increment("a"), 2u);
  mine.merge(clock({{"a", 1}, {"b", 5}}));
  EXPECT_EQ(mine, clock({{"a", 2}, {"b", 5}}));
  EXPECT_EQ(mine.at("b"), 5u);
  EXPECT_EQ(mine.at("zz"), 0u);
}

TEST(VectorClock, ZeroEntriesAreNeverKept) {
  EXPECT_EQ(clock({{"a", 0}, {"b", 1}}), clock({{"b", 1}}));
  EXPECT_EQ(clock({{"a", 0}}).size(), 0u);
}

TEST(VectorClock, JsonRoundTrips) {
  const auto original = clock({{"127.0.0.1:5235", 3}, {"[::1]:5236", 18446744073709551615ull}});
  const auto text = json::serialize(to_json(original));
  const auto decoded = clock_from_json(json::parse(text));
  ASSERT_TRUE(decoded.clock) << decoded.rejection;
  EXPECT_EQ(*decoded.clock, original);
}

void expect_rejected(const std::string& text, const std::string& why, std::size_t max = 4) {
  const auto decoded = clock_from_json(json::parse(text), max);
  EXPECT_FALSE(decoded.clock) << text;
  EXPECT_EQ(decoded.rejection, why) << text;
}

TEST(VectorClock, DecodingRefusesMalformedAndOversizedClocks) {
  expect_rejected("[1]", "not_an_object");
  expect_rejected("3", "not_an_object");
  expect_rejected(R"({"a":1,"b":1,"c":1,"d":1,"e":1})", "too_many_entries");
  expect_rejected(R"({"a":0})", "bad_count");
  expect_rejected(R"({"a":-1})", "bad_count");
  expect_rejected(R"({"a":1.5})", "bad_count");
  expect_rejected(R"({"a":"1"})", "bad_count");
  expect_rejected(R"({"a":null})", "bad_count");
  expect_rejected(R"({"":1})", "bad_node");
  expect_rejected(R"({"a b":1})", "bad_node");
  expect_rejected(R"({"a\n":1})", "bad_node");
  expect_rejected("{\"" + std::string(kMaxClockNodeBytes + 1, 'a') + "\":1}", "bad_node");
  EXPECT_TRUE(clock_from_json(json::parse(R"({"a":1,"b":1,"c":1,"d":1})"), 4).clock);
  EXPECT_TRUE(clock_from_json(json::parse("{}")).clock);
}

// Clocks over three nodes with small counts, so that every relation comes up often.
rc::Gen<VectorClock> small_clocks() {
  return rc::gen::map(
      rc::gen::container<std::vector<std::uint64_t>>(3, rc::gen::inRange<std::uint64_t>(0, 4)),
      [](const std::vector<std::uint64_t>& counts) {
        return VectorClock({{"a", counts[0]}, {"b", counts[1]}, {"c", counts[2]}});
      });
}

RC_GTEST_PROP(VectorClockProperty, CompareIsConsistentBothWays, ()) {
  const auto a = *small_clocks();
  const auto b = *small_clocks();
  const auto forward = a.compare(b);
  const auto backward = b.compare(a);
  switch (forward) {
    case CausalOrder::before:
      RC_ASSERT(backward == CausalOrder::after);
      break;
    case CausalOrder::after:
      RC_ASSERT(backward == CausalOrder::before);
      break;
    case CausalOrder::equal:
      RC_ASSERT(backward == CausalOrder::equal);
      RC_ASSERT(a == b);
      break;
    case CausalOrder::concurrent:
      RC_ASSERT(backward == CausalOrder::concurrent);
      break;
  }
  auto merged = a;
  merged.merge(b);
  RC_ASSERT(a.compare(merged) != CausalOrder::after);
  RC_ASSERT(a.compare(merged) != CausalOrder::concurrent);
  RC_ASSERT(b.compare(merged) != CausalOrder::after);
  RC_ASSERT(b.compare(merged) != CausalOrder::concurrent);
}

}  // namespace
}  // namespace isla::clocks
