#pragma once
// The part of GET /api/status that every role shares.
#include <boost/json.hpp>
#include <chrono>
#include <cstdint>
#include <string>

namespace isla::observability {

struct NodeIdentity {
  std::string node;
  std::string role;
  std::string island;
  bool draining = false;
  std::chrono::steady_clock::time_point started;
};

struct RequestTotals {
  std::uint64_t in_flight = 0;
  std::uint64_t total = 0;
  std::uint64_t failed = 0;
};

boost::json::object node_status(const NodeIdentity& identity, const RequestTotals& requests);

}  // namespace isla::observability
