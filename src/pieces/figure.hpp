#pragma once
// A Lego figure and its pieces, with their JSON form (the wire API's field names).
#include <boost/json.hpp>
#include <string>
#include <vector>

namespace isla::pieces {

struct Piece {
  std::string part;  // LEGO design id, e.g. "3001"; "piece" on the wire
  std::string description;
  std::string color;
  int amount = 0;
  friend bool operator==(const Piece&, const Piece&) = default;
};

struct Figure {
  std::string name;
  std::string title;
  std::vector<Piece> pieces;
  friend bool operator==(const Figure&, const Figure&) = default;
};

void tag_invoke(boost::json::value_from_tag, boost::json::value& out, const Piece& piece);
Piece tag_invoke(boost::json::value_to_tag<Piece>, const boost::json::value& in);

}  // namespace isla::pieces
