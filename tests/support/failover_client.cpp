#include "support/failover_client.hpp"

#include <thread>

namespace isla::testing {

FailoverClient::FailoverClient(std::vector<core::Endpoint> gateways, std::string token,
                               FailoverOptions options)
    : gateways_(std::move(gateways)), token_(std::move(token)), options_(options) {}

bool FailoverClient::worth_retrying(const net::ClientResult& result) {
  if (!result.ok()) return true;
  const int status = result.response->status;
  return status == 502 || status == 503 || status == 504;
}

FailoverAnswer FailoverClient::send(const std::string& method, const std::string& target,
                                    const std::string& body) const {
  const auto give_up = std::chrono::steady_clock::now() + options_.give_up_after;
  const int count = static_cast<int>(gateways_.size());
  FailoverAnswer answer;
  int gateway = current_.load();
  for (;;) {
    net::HttpRequest request;
    request.method = method;
    request.target = target;
    request.body = body;
    if (!token_.empty()) request.headers.emplace_back("Authorization", "Bearer " + token_);
    ++answer.attempts;
    answer.tried.push_back(gateway);
    answer.result = net::fetch(gateways_.at(gateway), request, options_.attempt_timeout);
    answer.gateway = gateway;
    if (!worth_retrying(answer.result)) {
      current_ = gateway;
      return answer;
    }
    if (std::chrono::steady_clock::now() >= give_up) return answer;
    gateway = (gateway + 1) % count;
    if (answer.attempts % count == 0) std::this_thread::sleep_for(options_.pause);
  }
}

}  // namespace isla::testing
