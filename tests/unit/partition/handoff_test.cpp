#include "partition/handoff.hpp"

#include <gtest/gtest.h>

#include <set>

namespace isla::partition {
namespace {

// Who serves what, as the gateway's table says.
struct Island {
  std::map<std::string, std::set<std::string>> serving;
  Serves serves() const {
    return [this](std::string_view server, std::string_view figure) {
      auto found = serving.find(std::string(server));
      return found != serving.end() && found->second.contains(std::string(figure));
    };
  }
};

const Owners kOwners = {{"giraffe", {"a", "b"}}, {"owl", {"b", "c"}}};

TEST(Handoff, AServerIsToldToHoldWhatItOwnsHeldOrNot) {
  Island island;
  EXPECT_EQ(figures_to_hold("b", {}, kOwners, island.serves()),
            (std::vector<std::string>{"giraffe", "owl"}));
  EXPECT_EQ(figures_to_hold("a", {"giraffe"}, kOwners, island.serves()),
            (std::vector<std::string>{"giraffe"}));
}

TEST(Handoff, AFormerOwnerKeepsAFigureUntilEveryOwnerServesIt) {
  Island island;
  island.serving["b"] = {"owl"};
  // d held owl before c joined: c does not serve it yet, so d keeps it.
  EXPECT_EQ(figures_to_hold("d", {"owl"}, kOwners, island.serves()),
            (std::vector<std::string>{"owl"}));
  island.serving["c"] = {"owl"};
  EXPECT_TRUE(figures_to_hold("d", {"owl"}, kOwners, island.serves()).empty());
}

TEST(Handoff, AFigureGoneFromTheCatalogueIsNotKept) {
  Island island;
  EXPECT_EQ(figures_to_hold("a", {"dodo", "giraffe"}, kOwners, island.serves()),
            (std::vector<std::string>{"giraffe"}));
}

}  // namespace
}  // namespace isla::partition
