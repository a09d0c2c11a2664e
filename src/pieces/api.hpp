#pragma once
// The piece server's HTTP API as typed RPC methods; the gateway calls these.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "pieces/figure.hpp"
#include "rpc/method.hpp"

namespace isla::pieces {

struct FigureName {
  std::string name;
};
inline void tag_invoke(boost::json::value_from_tag, boost::json::value& out,
                       const FigureName& request) {
  out = {{"name", request.name}};
}

// GET /api/figures/{name}
struct FigureDetail {
  std::string name;
  std::string title;
  std::vector<Piece> pieces;
  std::string server;  // the piece server that answered
  std::string island;
};

void tag_invoke(boost::json::value_from_tag, boost::json::value& out, const FigureDetail& detail);
FigureDetail tag_invoke(boost::json::value_to_tag<FigureDetail>, const boost::json::value& in);

std::string figure_path(const FigureName& request);

// Validates and decodes the {name} segment of /api/figures/{name}; nullopt when it is not
// a figure name (bad escapes, NUL, '/', '..', too long, ...).
std::optional<std::string> figure_name_from_path(std::string_view segment);

inline constexpr rpc::Method<FigureName, FigureDetail> kGetFigure{
    .name = "pieces.get_figure", .verb = "GET", .path = figure_path, .idempotent = true};

}  // namespace isla::pieces
