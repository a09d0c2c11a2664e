#include "pieces/api.hpp"

#include <gtest/gtest.h>

namespace isla::pieces {
namespace {

TEST(PiecesApi, FigureDetailRoundTripsThroughJsonWithWireNames) {
  FigureDetail detail{
      "giraffe", "Giraffe", {{"3001", "Brick 2 x 4", "yellow", 4}}, "127.0.1.11:1233", "local"};
  const auto json = boost::json::value_from(detail);
  EXPECT_EQ(json.at("pieces").at(0).at("piece").as_string(), "3001");
  auto back = boost::json::value_to<FigureDetail>(json);
  EXPECT_EQ(back.pieces, detail.pieces);
  EXPECT_EQ(back.server, detail.server);
}

TEST(PiecesApi, DecodingAWrongShapeFailsWithoutCrashing) {
  auto json =
      boost::json::parse(R"({"name":"x","pieces":[{"piece":1}],"server":"s","island":"i"})");
  EXPECT_FALSE(boost::json::try_value_to<FigureDetail>(json));
}

TEST(PiecesApi, FigureNamesFromPathsAreValidatedAndDecoded) {
  EXPECT_EQ(figure_name_from_path("black-sheep").value_or(""), "black-sheep");
  EXPECT_EQ(figure_name_from_path("black%2dsheep").value_or(""), "black-sheep");
  for (const std::string& bad :
       std::vector<std::string>{"..%2Fetc", "../etc", "giraffe%00", "Giraffe", "a/b", "", "-x",
                                std::string(10'000, 'a'), std::string(65, 'a')}) {
    EXPECT_FALSE(figure_name_from_path(bad)) << bad.substr(0, 20);
  }
}

TEST(PiecesApi, GetFigureMethodBuildsThePath) {
  EXPECT_EQ(kGetFigure.path(FigureName{"owl"}), "/api/figures/owl");
  EXPECT_EQ(kGetFigure.verb, "GET");
  EXPECT_TRUE(kGetFigure.idempotent);
}

}  // namespace
}  // namespace isla::pieces
