#include "pieces/catalog.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

namespace isla::pieces {
namespace {

const char* kGiraffe = R"(# a giraffe
name = "giraffe"
title = "Giraffe"
pieces = [
  { part = "3001", description = "Brick 2 x 4", color = "yellow", amount = 4 },
  { part = "3005", description = "Brick 1 x 1", color = "yellow", amount = 14 },
]
)";

std::string error_of(std::string_view text, std::string_view expected_name = {}) {
  try {
    parse_figure(text, "giraffe.toml", expected_name);
  } catch (const CatalogError& error) {
    return error.what();
  }
  return "no error";
}

TEST(Catalog, ParsesAFigure) {
  auto figure = parse_figure(kGiraffe, "giraffe.toml", "giraffe");
  EXPECT_EQ(figure.name, "giraffe");
  EXPECT_EQ(figure.title, "Giraffe");
  ASSERT_EQ(figure.pieces.size(), 2u);
  EXPECT_EQ(figure.pieces[1], (Piece{"3005", "Brick 1 x 1", "yellow", 14}));
}

TEST(Catalog, SyntaxErrorNamesFileAndLine) {
  EXPECT_EQ(error_of("name = \"giraffe\"\ntitle = \"G\"\npieces = [ { part = \"3001\", \n"),
            error_of("name = \"giraffe\"\ntitle = \"G\"\npieces = [ { part = \"3001\", \n"));
  const auto message = error_of("name = \"giraffe\"\ntitle = = \"G\"\n");
  EXPECT_EQ(message.rfind("giraffe.toml:2: ", 0), 0u) << message;
}

TEST(Catalog, BadAmountNamesItsLine) {
  std::string text = kGiraffe;
  text.replace(text.find("amount = 14"), 11, "amount = -1");
  const auto message = error_of(text);
  EXPECT_EQ(message.rfind("giraffe.toml:6: ", 0), 0u) << message;
  EXPECT_NE(message.find("amount"), std::string::npos);
}

TEST(Catalog, RejectsWhatTheFormatDoesNotAllow) {
  std::string repeated = kGiraffe;
  repeated.replace(repeated.find("\"3005\""), 6, "\"3001\"");
  repeated.replace(repeated.find("Brick 1 x 1"), 11, "Brick 2 x 4");
  const std::pair<std::string, std::string> cases[] = {
      {"name = \"Giraffe!\"\ntitle = \"G\"\npieces = []\n", "name"},
      {"name = \"giraffe\"\ntitle = \"G\"\npieces = []\n", "non-empty 'pieces'"},
      {"name = \"giraffe\"\ntitle = \"G\"\ncolour = 1\n", "unknown key 'colour'"},
      {"name = \"giraffe\"\npieces = [{part=\"1\",description=\"d\",color=\"c\",amount=1}]\n",
       "missing 'title'"},
      {"name = \"giraffe\"\ntitle = \"G\"\npieces = [{part=\"1\",description=\"d\",color=\"c\"}]\n",
       "missing 'amount'"},
      {"name = \"giraffe\"\ntitle = \"G\"\npieces = [{part=\"1\",description=\"d\",color=\"c\","
       "amount=1.5}]\n",
       "integer"},
      {repeated, "repeats part 3001"},
  };
  for (const auto& [text, expected] : cases) {
    const auto message = error_of(text);
    EXPECT_NE(message.find(expected), std::string::npos) << message;
    EXPECT_EQ(message.rfind("giraffe.toml:", 0), 0u) << message;
  }
}

TEST(Catalog, NonAsciiIsRejectedWithItsLine) {
  std::string text = kGiraffe;
  text.replace(text.find("amount = 14"), 11, "amount = 14\xef\xbb\xbb");
  const auto message = error_of(text);
  EXPECT_EQ(message.rfind("giraffe.toml:6: ", 0), 0u) << message;
  EXPECT_NE(message.find("ASCII"), std::string::npos) << message;
}

TEST(Catalog, NameMustMatchTheFile) {
  EXPECT_NE(error_of(kGiraffe, "dragon").find("named for 'dragon'"), std::string::npos);
}

TEST(Catalog, LoadsTheShippedCatalogue) {
  const auto figures = load_catalog(std::filesystem::path(ISLA_SOURCE_DIR) / "data/figures");
  EXPECT_GE(figures.size(), 12u);
  std::vector<std::string> names;
  for (const auto& figure : figures) names.push_back(figure.name);
  for (const char* required : {"giraffe", "dragon", "black-sheep"}) {
    EXPECT_NE(std::find(names.begin(), names.end(), required), names.end()) << required;
  }
  EXPECT_TRUE(std::is_sorted(names.begin(), names.end()));
}

TEST(Catalog, LoadFailsOnABadFileNamingIt) {
  const auto dir =
      std::filesystem::temp_directory_path() / ("isla-catalog-" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "owl.toml")
      << "name = \"owl\"\ntitle = \"Owl\"\npieces = [\n  { part = 1 },\n]\n";
  try {
    load_catalog(dir);
    FAIL() << "expected an error";
  } catch (const CatalogError& error) {
    EXPECT_NE(std::string(error.what()).find("owl.toml:4:"), std::string::npos) << error.what();
  }
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace isla::pieces
