#pragma once
// A client that talks to an island's gateways directly and, when the one it uses does not
// answer (refused, broken, timed out) or answers 502/503/504, sends the same request to the
// next one, until a deadline: the "try the next gateway" loop a balancer does for clients,
// for tests that kill gateways under a conversation. The request is sent unchanged each
// time (same body, same idempotency key), so only requests that are safe to repeat should
// go through it. Thread-safe: clients in several threads may share one.
#include <atomic>
#include <chrono>
#include <string>
#include <vector>

#include "core/endpoint.hpp"
#include "net/http_client.hpp"

namespace isla::testing {

struct FailoverAnswer {
  net::ClientResult result;  // the last attempt's
  int gateway = -1;          // the index of the gateway that gave the answer
  int attempts = 0;
  std::vector<int> tried;  // gateway indexes in the order they were tried

  bool ok() const { return result.ok(); }
  int status() const { return result.ok() ? result.response->status : 0; }
  const std::string& body() const { return result.response->body; }
};

struct FailoverOptions {
  std::chrono::milliseconds attempt_timeout{5000};  // one request to one gateway
  std::chrono::milliseconds give_up_after{30'000};  // all attempts of one send
  std::chrono::milliseconds pause{50};              // before trying again after a full round
};

class FailoverClient {
 public:
  FailoverClient(std::vector<core::Endpoint> gateways, std::string token,
                 FailoverOptions options = {});

  // Sends to the gateway in use; moves on to the next one while the answer says to.
  FailoverAnswer send(const std::string& method, const std::string& target,
                      const std::string& body = "") const;
  // The next send starts with this gateway.
  void use(int gateway) const { current_ = gateway; }
  int current() const { return current_; }
  std::size_t size() const { return gateways_.size(); }

  // Whether an answer calls for another gateway: none, or one that says "not now".
  static bool worth_retrying(const net::ClientResult& result);

 private:
  std::vector<core::Endpoint> gateways_;
  std::string token_;
  FailoverOptions options_;
  mutable std::atomic<int> current_{0};
};

}  // namespace isla::testing
