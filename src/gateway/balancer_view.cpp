#include "gateway/balancer_view.hpp"

namespace isla::gateway {

namespace json = boost::json;

namespace {

constexpr std::size_t kMaxBackends = 256;  // a dashboard has no use for more

template <typename T>
const json::value* field(const json::object& object, std::string_view name) {
  const auto* value = object.if_contains(name);
  if (value == nullptr) return nullptr;
  if constexpr (std::is_same_v<T, bool>) return value->is_bool() ? value : nullptr;
  if constexpr (std::is_same_v<T, std::string>) return value->is_string() ? value : nullptr;
  if constexpr (std::is_same_v<T, std::uint64_t>) {
    return (value->is_uint64() || (value->is_int64() && value->as_int64() >= 0)) ? value : nullptr;
  }
  return nullptr;
}

// Copies a field of the expected type, or nothing.
template <typename T>
void copy(const json::object& from, std::string_view name, json::object& to) {
  if (const auto* value = field<T>(from, name)) to[name] = *value;
}

json::array backends_of(const json::object& status) {
  json::array out;
  const auto* backends = status.if_contains("backends");
  if (backends == nullptr || !backends->is_array()) return out;
  for (const auto& item : backends->as_array()) {
    if (out.size() == kMaxBackends) break;
    if (!item.is_object() || field<std::string>(item.as_object(), "address") == nullptr) continue;
    const auto& backend = item.as_object();
    json::object row;
    copy<std::string>(backend, "address", row);
    for (const auto* flag : {"up", "ejected", "pickable"}) copy<bool>(backend, flag, row);
    const auto* up = field<bool>(backend, "up");
    const auto* ejected = field<bool>(backend, "ejected");
    // One word for the dashboard: ejected (passively, after failures) wins over up.
    row["health"] = ejected && ejected->as_bool() ? "ejected" : up && up->as_bool() ? "up" : "down";
    out.push_back(std::move(row));
  }
  return out;
}

}  // namespace

json::object summarise_balancer(const std::string& admin, std::string_view body) {
  boost::system::error_code error;
  const auto value = json::parse(body, error);
  if (error || !value.is_object()) {
    return {{"admin", admin}, {"reachable", true}, {"error", "not a balancer status (bad JSON)"}};
  }
  const auto& status = value.as_object();
  const auto* role = field<std::string>(status, "role");
  if (role == nullptr || role->as_string() != "balancer") {
    return {{"admin", admin}, {"reachable", true}, {"error", "not a balancer's status"}};
  }
  json::object out{{"admin", admin}, {"reachable", true}};
  copy<std::string>(status, "listen", out);
  copy<std::string>(status, "state", out);
  copy<bool>(status, "serving", out);
  const auto* pair = status.if_contains("pair");
  if (pair != nullptr && pair->is_object()) {
    const auto& member = pair->as_object();
    const auto* pair_role = field<std::string>(member, "role");
    out["role"] = pair_role ? pair_role->as_string() : json::string("unknown");
    copy<std::uint64_t>(member, "term", out);
    copy<std::uint64_t>(member, "priority", out);
    copy<bool>(member, "peer_alive", out);
    copy<bool>(member, "holds_address", out);
    copy<std::string>(member, "self", out);
    copy<std::string>(member, "peer", out);
  } else {
    out["role"] = "single";  // no pair: it serves on its own
  }
  out["backends"] = backends_of(status);
  return out;
}

json::object unreachable_balancer(const std::string& admin, const std::string& why) {
  return {{"admin", admin}, {"reachable", false}, {"error", why}};
}

json::object balancers_view(json::array summaries) {
  json::value active = nullptr;
  json::value term = nullptr;
  for (const auto& item : summaries) {
    const auto& summary = item.as_object();
    const auto* role = summary.if_contains("role");
    if (role == nullptr || !role->is_string() || role->as_string() != "active") continue;
    const auto* its_term = summary.if_contains("term");
    // Two claiming to be active (a moment during a takeover): the higher term wins.
    if (active.is_null() ||
        (its_term && !term.is_null() &&
         its_term->to_number<std::uint64_t>() > term.to_number<std::uint64_t>())) {
      active = summary.at("admin");
      term = its_term ? *its_term : json::value(nullptr);
    }
  }
  return {{"balancers", std::move(summaries)}, {"active", active}, {"term", term}};
}

}  // namespace isla::gateway
