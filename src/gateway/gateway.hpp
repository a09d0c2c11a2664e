#pragma once
// The intermediary server: learns piece servers from their datagrams and routes figure
// requests to them (ARCHITECTURE.md §1-§4).
#include <filesystem>
#include <string>

#include "core/endpoint.hpp"
#include "gateway/figure_proxy.hpp"
#include "gateway/routing_table.hpp"
#include "net/http_server.hpp"

namespace isla::gateway {

struct GatewayOptions {
  core::Endpoint listen{"127.0.0.1", 5235};  // HTTP on TCP and membership on UDP
  std::string island = "local";
  std::filesystem::path data_dir = ".isla-data/gateway";
  std::string secret;       // HMAC key for datagrams; empty accepts unsigned ones
  std::size_t threads = 0;  // I/O threads; 0 = one per core
  std::chrono::milliseconds expire_interval{50};  // how often silent servers are looked for
  RoutingOptions routing;
  ProxyOptions proxy;
  net::HttpServerOptions http;
};

// Runs until SIGINT/SIGTERM, then drains and says bye. Returns the process exit code.
int run_gateway(const GatewayOptions& options);

}  // namespace isla::gateway
