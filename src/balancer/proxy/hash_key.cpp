#include "balancer/proxy/hash_key.hpp"

#include <stdexcept>

namespace isla::balancer {

namespace {

bool token_char(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

}  // namespace

HashKeySpec parse_hash_key(std::string_view text) {
  HashKeySpec spec;
  std::string_view name;
  if (text.starts_with("cookie:")) {
    spec.source = HashKeySpec::Source::cookie;
    name = text.substr(7);
  } else if (text.starts_with("header:")) {
    spec.source = HashKeySpec::Source::header;
    name = text.substr(7);
  } else {
    throw std::invalid_argument("hash key must be cookie:NAME or header:NAME, got '" +
                                net::valid_utf8(text) + "'");
  }
  if (name.empty() || name.size() > 256) {
    throw std::invalid_argument("hash key name must have 1 to 256 characters");
  }
  for (const char c : name) {
    if (!token_char(c)) {
      throw std::invalid_argument("hash key name '" + net::valid_utf8(name) +
                                  "' is not an HTTP token (letters, digits, !#$%&'*+-.^_`|~)");
    }
  }
  spec.name = std::string(name);
  return spec;
}

std::optional<std::string_view> cookie_value(std::string_view cookie_header,
                                             std::string_view name) {
  while (!cookie_header.empty()) {
    const auto end = cookie_header.find(';');
    const auto pair = trim(cookie_header.substr(0, end));
    cookie_header =
        end == std::string_view::npos ? std::string_view() : cookie_header.substr(end + 1);
    const auto equals = pair.find('=');
    if (equals == std::string_view::npos) continue;
    if (trim(pair.substr(0, equals)) != name) continue;
    auto value = trim(pair.substr(equals + 1));
    if (value.size() >= 2 && value.front() == '"' && value.back() == '"') {
      value = value.substr(1, value.size() - 2);
    }
    return value;
  }
  return std::nullopt;
}

std::optional<std::string_view> hash_key(const net::HttpRequest& request, const HashKeySpec& spec) {
  if (spec.source == HashKeySpec::Source::header) {
    auto value = request.header(spec.name);
    if (value && !value->empty()) return value;
    return std::nullopt;
  }
  // A request may carry several Cookie lines (HTTP/2 splits them; some clients do too).
  for (const auto& [name, value] : request.headers) {
    if (!net::same_header_name(name, "Cookie")) continue;
    if (auto found = cookie_value(value, spec.name); found && !found->empty()) return found;
  }
  return std::nullopt;
}

}  // namespace isla::balancer
