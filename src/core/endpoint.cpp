#include "core/endpoint.hpp"

#include <stdexcept>

#include "core/parse.hpp"

namespace isla::core {

std::string Endpoint::str() const {
  const bool v6 = host.find(':') != std::string::npos;
  return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

namespace {

std::optional<std::uint16_t> parse_port(std::string_view text) {
  const auto value = parse_integer<unsigned>(text);
  if (!value || *value == 0 || *value > 65535) return std::nullopt;
  return static_cast<std::uint16_t>(*value);
}

bool plausible_host(std::string_view host) {
  if (host.empty() || host.size() > 253) return false;
  for (char c : host) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '-' || c == ':' || c == '_' || c == '%';
    if (!ok) return false;
  }
  return true;
}

}  // namespace

std::optional<Endpoint> parse_endpoint(std::string_view text, std::uint16_t default_port) {
  std::string_view host;
  std::string_view port;
  if (text.starts_with('[')) {
    const auto close = text.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    host = text.substr(1, close - 1);
    const auto rest = text.substr(close + 1);
    if (!rest.empty()) {
      if (!rest.starts_with(':')) return std::nullopt;
      port = rest.substr(1);
    }
  } else {
    const auto colon = text.rfind(':');
    if (colon != std::string_view::npos && text.find(':') != colon) return std::nullopt;
    host = colon == std::string_view::npos ? text : text.substr(0, colon);
    if (colon != std::string_view::npos) port = text.substr(colon + 1);
  }
  if (!plausible_host(host)) return std::nullopt;
  Endpoint endpoint{std::string(host), default_port};
  if (!port.empty() || (port.empty() && text.ends_with(':'))) {
    auto parsed = parse_port(port);
    if (!parsed) return std::nullopt;
    endpoint.port = *parsed;
  }
  if (endpoint.port == 0) return std::nullopt;
  return endpoint;
}

std::vector<Endpoint> parse_endpoint_list(std::string_view text, std::uint16_t default_port) {
  std::vector<Endpoint> out;
  while (!text.empty()) {
    const auto comma = text.find(',');
    const auto item = text.substr(0, comma);
    auto endpoint = parse_endpoint(item, default_port);
    if (!endpoint) {
      throw std::invalid_argument("not a HOST:PORT address: '" + std::string(item) + "'");
    }
    out.push_back(*endpoint);
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
  }
  return out;
}

}  // namespace isla::core
