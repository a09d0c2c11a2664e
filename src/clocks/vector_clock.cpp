#include "clocks/vector_clock.hpp"

#include <algorithm>

namespace isla::clocks {

namespace json = boost::json;

const char* to_string(CausalOrder order) {
  switch (order) {
    case CausalOrder::before:
      return "before";
    case CausalOrder::after:
      return "after";
    case CausalOrder::equal:
      return "equal";
    case CausalOrder::concurrent:
      return "concurrent";
  }
  return "unknown";
}

VectorClock::VectorClock(Entries entries) : entries_(std::move(entries)) {
  std::erase_if(entries_, [](const auto& entry) { return entry.second == 0; });
}

std::uint64_t VectorClock::at(std::string_view node) const {
  const auto found = entries_.find(node);
  return found == entries_.end() ? 0 : found->second;
}

std::uint64_t VectorClock::increment(const std::string& node) {
  return ++entries_[node];
}

void VectorClock::merge(const VectorClock& other) {
  for (const auto& [node, count] : other.entries_) {
    auto& ours = entries_[node];
    ours = std::max(ours, count);
  }
}

CausalOrder VectorClock::compare(const VectorClock& other) const {
  bool some_less = false;
  bool some_greater = false;
  // Both maps are sorted by node: one merge-like walk over their union.
  auto mine = entries_.begin();
  auto theirs = other.entries_.begin();
  while (mine != entries_.end() || theirs != other.entries_.end()) {
    std::uint64_t a = 0;
    std::uint64_t b = 0;
    if (theirs == other.entries_.end() || (mine != entries_.end() && mine->first < theirs->first)) {
      a = (mine++)->second;
    } else if (mine == entries_.end() || theirs->first < mine->first) {
      b = (theirs++)->second;
    } else {
      a = (mine++)->second;
      b = (theirs++)->second;
    }
    some_less |= a < b;
    some_greater |= a > b;
  }
  if (some_less && some_greater) return CausalOrder::concurrent;
  if (some_less) return CausalOrder::before;
  if (some_greater) return CausalOrder::after;
  return CausalOrder::equal;
}

json::object to_json(const VectorClock& clock) {
  json::object object;
  for (const auto& [node, count] : clock.entries()) object[node] = count;
  return object;
}

namespace {

bool valid_node(std::string_view node) {
  if (node.empty() || node.size() > kMaxClockNodeBytes) return false;
  return std::all_of(node.begin(), node.end(), [](char c) { return c > ' ' && c < 0x7f; });
}

DecodedClock reject(std::string why) {
  return {std::nullopt, std::move(why)};
}

}  // namespace

DecodedClock clock_from_json(const json::value& value, std::size_t max_entries) {
  if (!value.is_object()) return reject("not_an_object");
  const auto& object = value.as_object();
  if (object.size() > max_entries) return reject("too_many_entries");
  VectorClock::Entries entries;
  for (const auto& [node, count] : object) {
    if (!valid_node(node)) return reject("bad_node");
    std::uint64_t number = 0;
    if (count.is_uint64()) {
      number = count.as_uint64();
    } else if (count.is_int64() && count.as_int64() > 0) {
      number = static_cast<std::uint64_t>(count.as_int64());
    }
    if (number == 0) return reject("bad_count");
    entries.emplace(std::string(node), number);
  }
  return {VectorClock(std::move(entries)), {}};
}

}  // namespace isla::clocks
