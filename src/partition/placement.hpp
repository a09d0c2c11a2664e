#pragma once
// Where each figure of a partitioned catalogue belongs: its owners are the first `replicas`
// distinct piece servers clockwise from the figure's point on a consistent-hash ring of the
// live members (core::HashRing). Pure and deterministic: every gateway that sees the same
// members computes the same owners, with no coordination and nothing stored; when a member
// joins or leaves, only the figures whose owners include it move (about replicas/N of them).
#include <string>
#include <string_view>
#include <vector>

#include "core/hash_ring.hpp"

namespace isla::partition {

struct PlacementOptions {
  std::size_t replicas = 2;     // owners per figure (fewer while there are fewer members)
  int points_per_server = 160;  // virtual nodes: the spread is within about ±10 %
};

class Placement {
 public:
  // `servers`: the members' addresses (HOST:PORT), in any order, duplicates ignored.
  Placement(std::vector<std::string> servers, PlacementOptions options = {});

  // The figure's owners, primary first; empty without members.
  std::vector<std::string> owners(std::string_view figure) const;
  bool owns(std::string_view server, std::string_view figure) const;

  const std::vector<std::string>& servers() const { return servers_; }  // sorted
  std::size_t replicas() const { return options_.replicas; }

 private:
  PlacementOptions options_;
  std::vector<std::string> servers_;
  core::HashRing ring_;
};

}  // namespace isla::partition
