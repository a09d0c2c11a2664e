#include "pieces/catalog.hpp"

#include <toml++/toml.h>

#include <algorithm>
#include <fstream>
#include <set>
#include <sstream>

#include "core/names.hpp"

namespace isla::pieces {

namespace {

constexpr std::size_t kMaxTextBytes = 80;
constexpr std::int64_t kMaxAmount = 10'000;

[[noreturn]] void fail(const std::string& source, const toml::source_region& where,
                       const std::string& what) {
  throw CatalogError(source + ":" + std::to_string(where.begin.line) + ": " + what);
}

bool printable_text(std::string_view text) {
  if (text.empty() || text.size() > kMaxTextBytes) return false;
  return std::all_of(text.begin(), text.end(), [](char c) { return c >= 0x20 && c < 0x7f; });
}

std::string text_field(const toml::table& table, std::string_view key, const std::string& source,
                       std::string_view context) {
  const auto* node = table.get(key);
  if (node == nullptr) {
    fail(source, table.source(), std::string(context) + " is missing '" + std::string(key) + "'");
  }
  const auto value = node->value<std::string>();
  if (!value || !printable_text(*value)) {
    fail(source, node->source(),
         std::string(context) + " '" + std::string(key) +
             "' must be a string of 1 to 80 printable characters");
  }
  return *value;
}

void reject_unknown_keys(const toml::table& table, std::initializer_list<std::string_view> known,
                         const std::string& source, std::string_view context) {
  for (const auto& [key, node] : table) {
    if (std::find(known.begin(), known.end(), key.str()) == known.end()) {
      fail(source, node.source(),
           std::string(context) + " has unknown key '" + std::string(key.str()) + "'");
    }
  }
}

Piece parse_piece(const toml::node& node, const std::string& source, std::size_t index) {
  const auto* table = node.as_table();
  const std::string context = "piece " + std::to_string(index + 1);
  if (table == nullptr) fail(source, node.source(), context + " must be a table { part = ... }");
  reject_unknown_keys(*table, {"part", "description", "color", "amount"}, source, context);
  Piece piece;
  piece.part = text_field(*table, "part", source, context);
  piece.description = text_field(*table, "description", source, context);
  piece.color = text_field(*table, "color", source, context);
  const auto* amount = table->get("amount");
  if (amount == nullptr) fail(source, table->source(), context + " is missing 'amount'");
  const auto value = amount->value<std::int64_t>();
  if (!amount->is_integer() || !value || *value < 1 || *value > kMaxAmount) {
    fail(source, amount->source(), context + " 'amount' must be an integer from 1 to 10000");
  }
  piece.amount = static_cast<int>(*value);
  return piece;
}

}  // namespace

Figure parse_figure(std::string_view text, const std::string& source,
                    std::string_view expected_name) {
  // Figure files are ASCII (every field must be printable ASCII anyway); checking first
  // also keeps bytes that toml++ 3.3 mishandles (marzer/tomlplusplus#190) away from it.
  std::size_t line = 1;
  for (char c : text) {
    if (c == '\n') ++line;
    if (static_cast<unsigned char>(c) >= 0x80 || c == '\0') {
      throw CatalogError(source + ":" + std::to_string(line) +
                         ": figure files must be plain ASCII text");
    }
  }
  toml::table root;
  try {
    root = toml::parse(text, source);
  } catch (const toml::parse_error& error) {
    fail(source, error.source(), std::string(error.description()));
  }
  reject_unknown_keys(root, {"name", "title", "pieces"}, source, "figure");
  Figure figure;
  figure.name = text_field(root, "name", source, "figure");
  if (!core::valid_figure_name(figure.name)) {
    fail(source, root.get("name")->source(),
         "figure 'name' must be 1-64 characters of a-z, 0-9 and '-'");
  }
  if (!expected_name.empty() && figure.name != expected_name) {
    fail(source, root.get("name")->source(),
         "figure 'name' is '" + figure.name + "' but the file is named for '" +
             std::string(expected_name) + "'");
  }
  figure.title = text_field(root, "title", source, "figure");
  const auto* pieces = root.get("pieces");
  if (pieces == nullptr || !pieces->is_array() || pieces->as_array()->empty()) {
    fail(source, pieces ? pieces->source() : root.source(),
         "figure needs a non-empty 'pieces' array");
  }
  std::set<std::pair<std::string, std::string>> seen;
  const auto& array = *pieces->as_array();
  for (std::size_t i = 0; i < array.size(); ++i) {
    auto piece = parse_piece(array[i], source, i);
    if (!seen.emplace(piece.part, piece.color).second) {
      fail(source, array[i].source(),
           "piece " + std::to_string(i + 1) + " repeats part " + piece.part + " in " + piece.color +
               "; add its amounts together instead");
    }
    figure.pieces.push_back(std::move(piece));
  }
  return figure;
}

std::vector<Figure> load_catalog(const std::filesystem::path& directory) {
  std::error_code error;
  if (!std::filesystem::is_directory(directory, error)) {
    throw CatalogError(directory.string() + ": not a directory (use --catalog data/figures)");
  }
  std::vector<Figure> figures;
  for (const auto& entry : std::filesystem::directory_iterator(directory)) {
    if (!entry.is_regular_file() || entry.path().extension() != ".toml") continue;
    std::ifstream file(entry.path(), std::ios::binary);
    std::ostringstream text;
    text << file.rdbuf();
    if (!file) throw CatalogError(entry.path().string() + ":0: cannot read the file");
    figures.push_back(
        parse_figure(text.str(), entry.path().string(), entry.path().stem().string()));
  }
  if (figures.empty()) throw CatalogError(directory.string() + ": no *.toml figure files");
  std::sort(figures.begin(), figures.end(),
            [](const Figure& a, const Figure& b) { return a.name < b.name; });
  return figures;
}

}  // namespace isla::pieces
