#pragma once
// The figure catalogue: one TOML file per figure (see docs/catalog.md for the format).
#include <filesystem>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "pieces/figure.hpp"

namespace isla::pieces {

// A catalogue file that does not follow the format; what() reads "FILE:LINE: problem".
class CatalogError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Parses one figure file's text; `source` names it in errors. The name must equal
// `expected_name` unless that is empty.
Figure parse_figure(std::string_view text, const std::string& source,
                    std::string_view expected_name = {});

// Loads every *.toml file of `directory`, sorted by figure name.
std::vector<Figure> load_catalog(const std::filesystem::path& directory);

}  // namespace isla::pieces
