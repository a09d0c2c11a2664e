// Fuzzes the figure catalogue parser: any text either parses into a figure that obeys the
// catalogue's rules or is rejected with pieces::CatalogError; nothing else may happen.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "core/names.hpp"
#include "invariant.hpp"
#include "pieces/catalog.hpp"

namespace {}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const std::string source = "fuzz.toml";
  isla::pieces::Figure figure;
  try {
    figure = isla::pieces::parse_figure(text, source);
  } catch (const isla::pieces::CatalogError& error) {
    // Documented rejection; its message must name the source.
    if (std::string_view(error.what()).substr(0, source.size()) != source) {
      fail("CatalogError message does not start with the source name");
    }
    return 0;
  }
  if (!isla::core::valid_figure_name(figure.name)) fail("accepted an invalid figure name");
  if (figure.title.empty()) fail("accepted an empty title");
  if (figure.pieces.empty()) fail("accepted a figure without pieces");
  for (const auto& piece : figure.pieces) {
    if (piece.amount < 1 || piece.amount > 10'000) fail("accepted an amount outside 1..10000");
    if (piece.part.empty() || piece.color.empty() || piece.description.empty()) {
      fail("accepted a piece with an empty text field");
    }
  }
  // The file-name check: the same text must parse when the expected name is its own name.
  try {
    if (isla::pieces::parse_figure(text, source, figure.name) != figure) {
      fail("parse with expected_name gave a different figure");
    }
  } catch (const isla::pieces::CatalogError&) {
    fail("parse with the figure's own name as expected_name was rejected");
  }
  return 0;
}
