#include "balancer/proxy/admin_request.hpp"

#include <boost/json.hpp>
#include <set>
#include <stdexcept>

#include "balancer/backend_set.hpp"
#include "core/parse.hpp"
#include "net/http_types.hpp"

namespace isla::balancer {

std::variant<core::Endpoint, std::string> parse_backend_address(std::string_view text) {
  if (text.empty() || text.size() > 300) {
    return std::string("address must be HOST:PORT (1 to 300 characters)");
  }
  auto endpoint = core::parse_endpoint(text);
  if (!endpoint || endpoint->host.empty() || endpoint->port == 0) {
    return "address must be HOST:PORT with a port from 1 to 65535, got '" + net::valid_utf8(text) +
           "'";
  }
  for (const char c : endpoint->host) {
    const bool allowed = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                         (c >= '0' && c <= '9') || c == '.' || c == '-' || c == ':';
    if (!allowed) return "address host '" + net::valid_utf8(endpoint->host) + "' is not valid";
  }
  return *endpoint;
}

std::variant<BackendSpec, std::string> parse_backend_body(std::string_view body) {
  boost::system::error_code error;
  auto value = boost::json::parse(body, error);
  if (error) return "body is not JSON: " + error.message();
  const auto* object = value.if_object();
  if (!object) return std::string("body must be a JSON object {\"address\":\"host:port\"}");
  for (const auto& field : *object) {
    if (field.key() != "address" && field.key() != "weight") {
      return "unknown field '" + net::valid_utf8(field.key()) + "' (known: address, weight)";
    }
  }
  const auto* address = object->if_contains("address");
  if (!address || !address->is_string()) {
    return std::string("field 'address' must be a string \"host:port\"");
  }
  auto endpoint = parse_backend_address(address->get_string());
  if (auto* message = std::get_if<std::string>(&endpoint)) return *message;
  BackendSpec spec{std::get<core::Endpoint>(endpoint), 1};
  if (const auto* weight = object->if_contains("weight")) {
    const auto* number = weight->if_int64();
    if (!number || *number < kMinWeight || *number > kMaxWeight) {
      return "field 'weight' must be an integer from " + std::to_string(kMinWeight) + " to " +
             std::to_string(kMaxWeight);
    }
    spec.weight = static_cast<int>(*number);
  }
  return spec;
}

std::vector<BackendSpec> parse_backend_list(std::string_view text) {
  std::vector<BackendSpec> out;
  std::set<core::Endpoint> seen;
  while (!text.empty()) {
    const auto comma = text.find(',');
    auto item = text.substr(0, comma);
    text = comma == std::string_view::npos ? std::string_view() : text.substr(comma + 1);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
    if (item.empty()) continue;
    int weight = 1;
    if (const auto equals = item.find('='); equals != std::string_view::npos) {
      const auto parsed = core::parse_integer<int>(item.substr(equals + 1));
      if (!parsed || *parsed < kMinWeight || *parsed > kMaxWeight) {
        throw std::invalid_argument("backend '" + net::valid_utf8(item) + "': weight must be " +
                                    std::to_string(kMinWeight) + " to " +
                                    std::to_string(kMaxWeight));
      }
      weight = *parsed;
      item = item.substr(0, equals);
    }
    auto endpoint = parse_backend_address(item);
    if (auto* message = std::get_if<std::string>(&endpoint)) {
      throw std::invalid_argument("backend " + *message);
    }
    const auto& parsed = std::get<core::Endpoint>(endpoint);
    if (!seen.insert(parsed).second) {
      throw std::invalid_argument("backend " + parsed.str() + " is listed twice");
    }
    out.push_back({parsed, weight});
  }
  return out;
}

}  // namespace isla::balancer
