#pragma once
// Plain-socket helpers for tests that must send what no well-behaved client would.
#include <chrono>
#include <functional>
#include <string>

#include "core/endpoint.hpp"

namespace isla::testing {

// Connects, sends `bytes`, then reads until the peer closes or `timeout` passes.
std::string raw_exchange(const core::Endpoint& to, const std::string& bytes,
                         std::chrono::milliseconds timeout = std::chrono::milliseconds(3000));

// The status code of the first response in `reply`, or 0 if there is none.
int status_of(const std::string& reply);

// Sends one UDP datagram from an ephemeral port bound to `from_host`.
void send_datagram(const core::Endpoint& to, const std::string& bytes,
                   const std::string& from_host = "127.0.0.1");

// Polls `condition` every 10 ms until it holds or `timeout` passes; true when it held.
bool eventually(const std::function<bool()>& condition, std::chrono::milliseconds timeout);

}  // namespace isla::testing
