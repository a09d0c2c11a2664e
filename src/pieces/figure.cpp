#include "pieces/figure.hpp"

namespace isla::pieces {

void tag_invoke(boost::json::value_from_tag, boost::json::value& out, const Piece& piece) {
  out = {{"piece", piece.part},
         {"description", piece.description},
         {"color", piece.color},
         {"amount", piece.amount}};
}

Piece tag_invoke(boost::json::value_to_tag<Piece>, const boost::json::value& in) {
  const auto& object = in.as_object();
  return Piece{boost::json::value_to<std::string>(object.at("piece")),
               boost::json::value_to<std::string>(object.at("description")),
               boost::json::value_to<std::string>(object.at("color")),
               boost::json::value_to<int>(object.at("amount"))};
}

}  // namespace isla::pieces
