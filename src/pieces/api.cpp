#include "pieces/api.hpp"

#include "core/names.hpp"
#include "net/http_types.hpp"

namespace isla::pieces {

void tag_invoke(boost::json::value_from_tag, boost::json::value& out, const FigureDetail& detail) {
  out = {{"name", detail.name},
         {"title", detail.title},
         {"pieces", boost::json::value_from(detail.pieces)},
         {"server", detail.server},
         {"island", detail.island}};
}

FigureDetail tag_invoke(boost::json::value_to_tag<FigureDetail>, const boost::json::value& in) {
  const auto& object = in.as_object();
  FigureDetail detail;
  detail.name = boost::json::value_to<std::string>(object.at("name"));
  if (auto* title = object.if_contains("title")) {
    detail.title = boost::json::value_to<std::string>(*title);
  }
  detail.pieces = boost::json::value_to<std::vector<Piece>>(object.at("pieces"));
  detail.server = boost::json::value_to<std::string>(object.at("server"));
  detail.island = boost::json::value_to<std::string>(object.at("island"));
  return detail;
}

std::string figure_path(const FigureName& request) {
  return "/api/figures/" + request.name;
}

std::optional<std::string> figure_name_from_path(std::string_view segment) {
  if (segment.size() > 3 * core::kMaxFigureNameBytes) return std::nullopt;
  auto decoded = net::percent_decode(segment);
  if (!decoded || !core::valid_figure_name(*decoded)) return std::nullopt;
  return decoded;
}

}  // namespace isla::pieces
