#include "balancer/proxy/forwarding.hpp"

#include <array>

namespace isla::balancer {

namespace {

constexpr std::array<std::string_view, 10> kHopByHop = {
    "Connection", "Keep-Alive", "Transfer-Encoding", "TE", "Trailer", "Upgrade", "Content-Length",
    "Host",       "Expect",     "Proxy-Connection"};

bool starts_with_ignoring_case(std::string_view text, std::string_view prefix) {
  return text.size() >= prefix.size() &&
         net::same_header_name(text.substr(0, prefix.size()), prefix);
}

}  // namespace

bool hop_by_hop(std::string_view name) {
  for (const auto header : kHopByHop) {
    if (net::same_header_name(name, header)) return true;
  }
  return starts_with_ignoring_case(name, "Proxy-");
}

std::string client_ip(std::string_view remote) {
  if (remote.starts_with('[')) {
    const auto close = remote.find(']');
    return std::string(
        remote.substr(1, close == std::string_view::npos ? remote.size() - 1 : close - 1));
  }
  const auto colon = remote.rfind(':');
  // One colon: IPv4 with a port. None or several: a bare address.
  if (colon != std::string_view::npos && remote.find(':') == colon) {
    return std::string(remote.substr(0, colon));
  }
  return std::string(remote);
}

net::HttpRequest upstream_request(const net::HttpRequest& client, const ForwardedFrom& from,
                                  std::string_view drop) {
  net::HttpRequest copy;
  copy.method = client.method;
  copy.target = client.target;
  copy.headers = client.headers;
  copy.body = client.body;
  copy.deadline = client.deadline;
  return upstream_request(std::move(copy), from, drop);
}

net::HttpRequest upstream_request(net::HttpRequest&& client, const ForwardedFrom& from,
                                  std::string_view drop) {
  net::HttpRequest out;
  out.method = client.method;
  out.target = client.target;
  out.body = std::move(client.body);
  out.deadline = client.deadline;
  out.headers.reserve(client.headers.size() + 3);
  std::string forwarded_for;
  for (auto& [name, value] : client.headers) {
    if (net::same_header_name(name, kForwardedForHeader)) {
      // Several X-Forwarded-For lines are one comma-separated list (RFC 9110, 5.3).
      if (!forwarded_for.empty()) forwarded_for += ", ";
      forwarded_for += value;
      continue;
    }
    if (hop_by_hop(name) || net::same_header_name(name, kForwardedProtoHeader) ||
        net::same_header_name(name, kForwardedHostHeader) ||
        (!drop.empty() && net::same_header_name(name, drop))) {
      continue;
    }
    out.headers.emplace_back(std::move(name), std::move(value));
  }
  if (!forwarded_for.empty()) forwarded_for += ", ";
  forwarded_for += from.client_ip;
  out.headers.emplace_back(kForwardedForHeader, std::move(forwarded_for));
  out.headers.emplace_back(kForwardedProtoHeader, from.proto);
  if (auto host = client.header("Host")) out.headers.emplace_back(kForwardedHostHeader, *host);
  return out;
}

void clean_response(net::HttpResponse& response, bool head_request) {
  std::erase_if(response.headers, [head_request](const auto& header) {
    return hop_by_hop(header.first) &&
           !(head_request && net::same_header_name(header.first, "Content-Length"));
  });
}

}  // namespace isla::balancer
