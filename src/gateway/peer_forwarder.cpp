#include "gateway/peer_forwarder.hpp"

#include <spdlog/spdlog.h>

#include "core/parse.hpp"

namespace isla::gateway {

int hops_of(const net::HttpRequest& request) {
  const auto value = request.header(net::kHopsHeader);
  if (!value) return 0;
  const auto hops = core::parse_integer<int>(*value);
  return hops && *hops >= 0 ? *hops : 0;
}

asio::awaitable<std::optional<net::HttpResponse>> PeerForwarder::forward(
    const core::Endpoint& peer, const net::HttpRequest& request, net::Headers extra) const {
  net::HttpRequest onward;
  onward.method = request.method;
  onward.target = request.target;
  onward.body = request.body;
  onward.headers.emplace_back(std::string(net::kHopsHeader), std::to_string(hops_of(request) + 1));
  for (auto& header : extra) onward.headers.push_back(std::move(header));
  if (auto id = request.header(net::kRequestIdHeader)) {
    onward.headers.emplace_back(std::string(net::kRequestIdHeader), std::string(*id));
  }
  // What is left of the client's deadline goes with it, so the peer does not work for an
  // answer nobody waits for.
  const auto now = std::chrono::steady_clock::now();
  if (request.deadline != std::chrono::steady_clock::time_point::max()) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(request.deadline - now).count();
    if (left <= 0) co_return std::nullopt;
    onward.headers.emplace_back(std::string(net::kDeadlineHeader), std::to_string(left));
  }
  const auto deadline = std::min(request.deadline, now + std::chrono::seconds(30));
  auto result = co_await client_.request(peer, onward, deadline);
  if (!result.ok()) {
    spdlog::debug("forward to peer failed peer={} error=\"{}\"", peer.str(), result.message);
    co_return std::nullopt;
  }
  auto response = std::move(*result.response);
  // Hop-by-hop fields are the connection's business, not the answer's (RFC 9110, 7.6.1).
  std::erase_if(response.headers, [](const auto& header) {
    return net::same_header_name(header.first, "Connection") ||
           net::same_header_name(header.first, "Keep-Alive") ||
           net::same_header_name(header.first, "Content-Length") ||
           net::same_header_name(header.first, "Transfer-Encoding");
  });
  if (!response.header(kForwardedToHeader)) {
    response.headers.emplace_back(std::string(kForwardedToHeader), peer.str());
  }
  co_return response;
}

}  // namespace isla::gateway
