#include "app/client_http.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <thread>

#include "app/commands.hpp"
#include "app/server_flags.hpp"
#include "net/http_client.hpp"
#include "rpc/call.hpp"

namespace isla::app {

namespace json = boost::json;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

void add_client_flags(CLI::App& command, ClientFlags& flags) {
  command.add_option("--gateway", flags.gateway, "Gateway to ask, HOST:PORT")
      ->envname("ISLA_GATEWAY")
      ->capture_default_str();
  command
      .add_option("--tls-ca", flags.tls_ca,
                  "The island CA (ca.pem of `isla certs init`): talk to the gateway over HTTPS "
                  "and accept only a certificate from it")
      ->envname("ISLA_TLS_CA");
  command.add_flag("--json", flags.json, "Print the gateway's JSON instead of a table");
  command.add_option("--token", flags.token, "Token to send (isla token create)")
      ->envname("ISLA_TOKEN");
  command
      .add_option("--data-dir", flags.data_dir,
                  "Without --token, use the admin token `isla up` wrote here (admin.token)")
      ->envname("ISLA_DATA_DIR")
      ->capture_default_str();
  command.add_option("--timeout-ms", flags.timeout_ms, "Give up after this long")
      ->check(CLI::Range(1L, 600'000L))
      ->capture_default_str();
}

namespace {

constexpr std::string_view kHttps = "https://";
constexpr std::string_view kHttp = "http://";
// Where `isla up --tls` puts the island CA, with its default --data-dir.
constexpr std::string_view kDefaultCa = ".isla-data/tls/ca.pem";

}  // namespace

net::HttpClientOptions client_options(const ClientFlags& flags) {
  net::HttpClientOptions options;
  const bool https = flags.gateway.starts_with(kHttps);
  if (!https && flags.tls_ca.empty()) return options;
  std::string ca = flags.tls_ca;
  if (ca.empty() && std::filesystem::exists(kDefaultCa)) ca = kDefaultCa;
  if (ca.empty()) {
    std::cerr << "isla: --gateway is https:// but no island CA was given: pass --tls-ca FILE "
                 "(or ISLA_TLS_CA), the ca.pem of `isla certs init`\n";
    exit_with(kExitUsage);
  }
  options.tls = net::make_client_tls(ca);
  return options;
}

core::Endpoint gateway_endpoint(const ClientFlags& flags) {
  std::string_view address = flags.gateway;
  for (const auto scheme : {kHttps, kHttp}) {
    if (address.starts_with(scheme)) address.remove_prefix(scheme.size());
  }
  if (address.ends_with('/')) address.remove_suffix(1);
  auto gateway = core::parse_endpoint(std::string(address), 5235);
  if (!gateway) {
    std::cerr << "isla: --gateway: not a HOST:PORT address: '" << flags.gateway << "'\n";
    exit_with(kExitUsage);
  }
  return *gateway;
}

void exit_unreachable(const core::Endpoint& gateway, std::string_view why) {
  std::cerr << "isla: cannot reach gateway " << gateway.str() << " (" << why << ").\n";
  if (why.find("TLS handshake") != std::string_view::npos) {
    std::cerr << "Is --tls-ca (or ISLA_TLS_CA) the ca.pem of this island, and does --gateway "
                 "name the address its certificate was made for?\n";
  } else {
    std::cerr << "Is it running? Start a local island with `make up` or point --gateway (or "
                 "ISLA_GATEWAY) at one.\n";
  }
  exit_with(kExitUnreachable);
}

void authorize(const ClientFlags& flags, net::HttpRequest& request) {
  std::string token = flags.token;
  if (token.empty()) {
    std::ifstream file(std::filesystem::path(flags.data_dir) / "admin.token");
    std::getline(file, token);
  }
  if (!token.empty()) request.headers.emplace_back("Authorization", "Bearer " + token);
}

Answer ask(const ClientFlags& flags, const net::HttpRequest& given, const AskOptions& options) {
  const auto gateway = gateway_endpoint(flags);
  auto request = given;
  authorize(flags, request);
  const auto client = client_options(flags);
  const auto deadline = Clock::now() + milliseconds(flags.timeout_ms);
  auto delay = milliseconds(50);
  for (;;) {
    const auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now());
    auto result = net::fetch(gateway, request, std::max(left, milliseconds(1)), client);
    if (!result.ok()) {
      if (result.error == net::ClientErrorKind::connect) exit_unreachable(gateway, result.message);
      // A TLS listener closes a plain-HTTP connection without an answer.
      const bool maybe_tls = !client.tls && result.error == net::ClientErrorKind::io;
      std::cerr << "isla: no answer from gateway " << gateway.str() << " (" << result.message << ")"
                << (request.method == "GET" ? ""
                                            : "; the request may or may not have "
                                              "taken effect")
                << (maybe_tls ? "; if the gateway speaks TLS, use --gateway https://HOST:PORT" : "")
                << "\n";
      exit_with(kExitUnreachable);
    }
    auto& response = *result.response;
    if (response.status == 503 && options.retry_unavailable && Clock::now() + delay < deadline) {
      std::this_thread::sleep_for(delay);
      delay = std::min(delay * 2, milliseconds(1000));
      continue;
    }
    boost::system::error_code error;
    auto value = json::parse(response.body, error);
    if (std::find(options.accepted.begin(), options.accepted.end(), response.status) ==
        options.accepted.end()) {
      const auto& outcome = at(value, "outcome");
      const bool unknown = !error && outcome.is_string() && outcome.as_string() == "unknown";
      std::cerr << "isla: " << rpc::error_message_of(response) << " (HTTP " << response.status
                << " from " << gateway.str() << ")"
                << (unknown ? "; the write may or may not have been applied" : "") << "\n";
      exit_with(kExitFailed);
    }
    if (error) {
      std::cerr << "isla: the gateway answered something that is not JSON: " << error.message()
                << "\n";
      exit_with(kExitFailed);
    }
    return Answer{response.status, std::move(response.body), std::move(value)};
  }
}

json::value get_json(const ClientFlags& flags, const std::string& path) {
  net::HttpRequest request;
  request.target = path;
  auto answer = ask(flags, request, {});
  if (flags.json) {
    std::cout << answer.body << "\n";
    exit_with(0);
  }
  return std::move(answer.json);
}

std::string text(const json::value& value) {
  if (value.is_string()) return std::string(value.as_string());
  if (value.is_null()) return "";
  if (value.is_double()) return fmt::format("{:.1f}", value.as_double());
  return json::serialize(value);
}

std::string joined(const json::value& list) {
  std::string out;
  if (!list.is_array()) return out;
  for (const auto& item : list.as_array()) out += (out.empty() ? "" : ",") + text(item);
  return out;
}

const json::value& at(const json::value& value, std::string_view key) {
  static const json::value null;
  if (!value.is_object()) return null;
  const auto* found = value.as_object().if_contains(key);
  return found ? *found : null;
}

}  // namespace isla::app
