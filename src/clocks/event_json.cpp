#include "clocks/event_json.hpp"

#include <algorithm>

namespace isla::clocks {

namespace json = boost::json;

namespace {

std::optional<std::uint64_t> unsigned_field(const json::object& object, std::string_view key) {
  const auto* value = object.if_contains(key);
  if (value == nullptr) return std::nullopt;
  if (value->is_uint64()) return value->as_uint64();
  if (value->is_int64() && value->as_int64() >= 0) {
    return static_cast<std::uint64_t>(value->as_int64());
  }
  return std::nullopt;
}

bool printable(std::string_view text, std::size_t max_bytes) {
  return !text.empty() && text.size() <= max_bytes &&
         std::all_of(text.begin(), text.end(), [](char c) { return c > ' ' && c < 0x7f; });
}

const json::string* string_field(const json::object& object, std::string_view key) {
  const auto* value = object.if_contains(key);
  return value && value->is_string() ? &value->as_string() : nullptr;
}

}  // namespace

json::object to_json(const Event& event) {
  json::array after;
  for (const auto id : event.after) after.emplace_back(id);
  return {{"id", event.id},           {"node", event.node},       {"kind", event.kind},
          {"detail", event.detail},   {"lamport", event.lamport}, {"vector", to_json(event.vector)},
          {"wall_ms", event.wall_ms}, {"after", std::move(after)}};
}

json::object to_json(std::span<const Event> events) {
  json::array list;
  list.reserve(events.size());
  for (const auto& event : events) list.emplace_back(to_json(event));
  return {{"events", std::move(list)}};
}

json::object to_json(const Stamp& stamp) {
  return {{"lamport", stamp.lamport}, {"vector", to_json(stamp.vector)}};
}

DecodedStamp stamp_from_json(const json::value& value, std::size_t max_clock_entries) {
  if (!value.is_object()) return {std::nullopt, "not_an_object"};
  const auto& object = value.as_object();
  const auto lamport = unsigned_field(object, "lamport");
  if (!lamport) return {std::nullopt, "bad_lamport"};
  const auto* vector = object.if_contains("vector");
  if (vector == nullptr) return {std::nullopt, "bad_vector"};
  auto clock = clock_from_json(*vector, max_clock_entries);
  if (!clock.clock) return {std::nullopt, "bad_vector: " + clock.rejection};
  return {Stamp{*lamport, std::move(*clock.clock)}, {}};
}

DecodedEvent event_from_json(const json::value& value, std::size_t max_clock_entries) {
  auto stamp = stamp_from_json(value, max_clock_entries);
  if (!stamp.stamp) return {std::nullopt, std::move(stamp.rejection)};
  const auto& object = value.as_object();
  Event event;
  event.lamport = stamp.stamp->lamport;
  event.vector = std::move(stamp.stamp->vector);
  const auto* node = string_field(object, "node");
  if (node == nullptr || !printable(*node, kMaxClockNodeBytes)) return {std::nullopt, "bad_node"};
  event.node = std::string(*node);
  // An event counts itself in its own node's entry, and every one of that node's events ticked
  // its Lamport clock too.
  const auto own = event.vector.at(event.node);
  if (own == 0 || event.lamport < own) return {std::nullopt, "bad_clocks"};
  const auto* kind = string_field(object, "kind");
  if (kind == nullptr || !printable(*kind, kMaxKindBytes)) return {std::nullopt, "bad_kind"};
  event.kind = std::string(*kind);
  const auto* detail = object.if_contains("detail");
  const bool detail_ok = detail && (detail->is_string() || detail->is_object()) &&
                         json::serialize(*detail).size() <= kMaxDetailBytes;
  if (!detail_ok) return {std::nullopt, "bad_detail"};
  event.detail = *detail;
  const auto* wall = object.if_contains("wall_ms");
  if (wall != nullptr && wall->is_int64()) {
    event.wall_ms = wall->as_int64();
  } else if (wall != nullptr && wall->is_uint64() && wall->as_uint64() <= INT64_MAX) {
    event.wall_ms = static_cast<std::int64_t>(wall->as_uint64());
  } else {
    return {std::nullopt, "bad_wall_ms"};
  }
  return {std::move(event), {}};
}

}  // namespace isla::clocks
